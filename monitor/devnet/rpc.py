"""A small synchronous JSON-RPC client for driving the devnet (deploys, transactions, cheat codes).

The monitor itself reads the chain through :mod:`monitor.chain`; this client is for the devnet's own scripts,
where simplicity beats concurrency: plain calls, JSON-RPC batches, and transaction helpers.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterable, Sequence
from typing import Any

import httpx

from monitor.chain import jsonrpc
from monitor.chain.abi import AbiFunction
from monitor.errors import DevnetError, RpcResponseError, RpcTransportError

MAX_UINT = 2**256 - 1


def hex_int(value: int) -> str:
    """An int as JSON-RPC quantity."""
    return hex(value)


class DevRpc:
    """Synchronous JSON-RPC over HTTP with batching."""

    def __init__(self, url: str, *, timeout_s: float = 120.0) -> None:
        self.url = url
        self._client = httpx.Client(timeout=timeout_s)
        self._ids = itertools.count(1)

    def close(self) -> None:
        """Close the HTTP connection pool."""
        self._client.close()

    def __enter__(self) -> DevRpc:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- raw: envelopes built and checked by monitor.chain.jsonrpc, the monitor's own client's rules ---------
    def _post(self, payload: object) -> Any:
        try:
            r = self._client.post(self.url, json=payload)
        except httpx.HTTPError as exc:
            raise RpcTransportError(f"{self.url}: {exc}", url=self.url) from None
        if r.status_code != 200:
            raise RpcTransportError(f"{self.url}: HTTP {r.status_code}", url=self.url)
        return jsonrpc.loads(r.content)

    def call(self, method: str, *params: Any) -> Any:
        """One JSON-RPC request; errors raise RpcResponseError."""
        rid = next(self._ids)
        result = jsonrpc.unwrap(self._post(jsonrpc.request(rid, method, params)), method, rid)
        if isinstance(result, RpcResponseError):
            raise result
        return result

    def batch(self, requests: Sequence[tuple[str, Sequence[Any]]], *, chunk: int = 500) -> list[Any]:
        """Many requests as JSON-RPC batches of ``chunk``; results in order; the first error raises."""
        results: list[Any] = []
        for start in range(0, len(requests), chunk):
            part = requests[start : start + chunk]
            ids = [next(self._ids) for _ in part]
            answers = self._post([jsonrpc.request(i, m, p) for i, (m, p) in zip(ids, part, strict=True)])
            for item in jsonrpc.split_batch(answers, ids, [m for m, _ in part]):
                if isinstance(item, RpcResponseError):
                    raise item
                results.append(item)
        return results

    # -- chain helpers ---------------------------------------------------------------------------------
    def block_number(self) -> int:
        """Latest block number."""
        return int(self.call("eth_blockNumber"), 16)

    def accounts(self) -> list[str]:
        """anvil's unlocked accounts."""
        return [a.lower() for a in self.call("eth_accounts")]

    def eth_call(self, to: str, data: str, block: int | str = "latest", **overrides: Any) -> str:
        """eth_call; keyword arguments become a state override set (address -> {code: ...})."""
        params: list[Any] = [{"to": to, "data": data}, hex_int(block) if isinstance(block, int) else block]
        if overrides.get("state_override"):
            params.append(overrides["state_override"])
        result: str = self.call("eth_call", *params)
        return result

    def read(self, to: str, fn: AbiFunction, *args: Any, block: int | str = "latest") -> tuple[Any, ...]:
        """Call a view function and decode it."""
        return fn.decode(self.eth_call(to, fn.encode(*args), block))

    def set_automine(self, on: bool) -> None:
        """Switch anvil's automine on or off."""
        self.call("evm_setAutomine", on)

    def mine(self, blocks: int = 1) -> None:
        """Mine ``blocks`` blocks now."""
        self.call("anvil_mine", hex_int(blocks))

    def increase_time(self, seconds: int) -> None:
        """Advance chain time and mine a block stamped with it."""
        self.call("evm_increaseTime", hex_int(seconds))
        self.mine(1)

    def snapshot(self) -> str:
        """evm_snapshot id."""
        sid: str = self.call("evm_snapshot")
        return sid

    def revert(self, snapshot_id: str) -> None:
        """evm_revert to a snapshot (consumed)."""
        if not self.call("evm_revert", snapshot_id):
            raise DevnetError(f"evm_revert({snapshot_id}) failed")

    # -- transactions ----------------------------------------------------------------------------------
    def send(self, sender: str, to: str | None, data: str, *, gas: int = 30_000_000, value: int = 0) -> str:
        """Send one transaction from an unlocked or impersonated account and wait for success."""
        tx_hash = self.send_nowait(sender, to, data, gas=gas, value=value)
        self.wait([tx_hash])
        return tx_hash

    def send_nowait(self, sender: str, to: str | None, data: str, *, gas: int = 30_000_000, value: int = 0) -> str:
        """Send one transaction, return its hash without waiting."""
        tx_hash: str = self.call("eth_sendTransaction", self._tx(sender, to, data, gas, value))
        return tx_hash

    @staticmethod
    def _tx(sender: str, to: str | None, data: str, gas: int, value: int) -> dict[str, Any]:
        tx: dict[str, Any] = {"from": sender, "data": data, "gas": hex_int(gas)}
        if to is not None:
            tx["to"] = to
        if value:
            tx["value"] = hex_int(value)
        return tx

    def send_many(
        self, txs: Iterable[tuple[str, str | None, str]], *, gas: int = 30_000_000, check: bool = True
    ) -> list[str]:
        """Send many transactions fast: automine off, JSON-RPC batches, one mined block, all receipts checked.

        Transactions in one call must not depend on each other's effects across senders in ways that the
        order inside one block would break; nonces of one sender are kept in order (anvil runs FIFO here).
        With ``check=False`` receipts are not fetched (anvil builds receipts slowly for large blocks): the
        caller must verify the effects itself, e.g. :meth:`wait` on the returned hashes when they look wrong.
        """
        txs = list(txs)
        if not txs:
            return []
        senders = sorted({s for s, _, _ in txs})
        counts = self.batch([("eth_getTransactionCount", [s, "pending"]) for s in senders])
        nonces = {s: int(c, 16) for s, c in zip(senders, counts, strict=True)}
        requests: list[tuple[str, list[Any]]] = []
        for s, t, d in txs:
            tx = self._tx(s, t, d, gas, 0)
            tx["nonce"] = hex_int(nonces[s])  # anvil would reuse the mined nonce for a sender's second tx
            nonces[s] += 1
            requests.append(("eth_sendTransaction", [tx]))
        self.set_automine(False)
        try:
            hashes = self.batch(requests)
            self.mine(1)
        finally:
            self.set_automine(True)
        if check:
            self.wait(hashes)
        return [str(h) for h in hashes]

    def wait(self, hashes: Sequence[str]) -> list[dict[str, Any]]:
        """Receipts of mined transactions; a failed one raises DevnetError with its revert reason if known."""
        receipts = self.batch([("eth_getTransactionReceipt", [h]) for h in hashes])
        missing = [h for h, r in zip(hashes, receipts, strict=True) if r is None]
        if missing:
            self.mine(1)
            receipts = self.batch([("eth_getTransactionReceipt", [h]) for h in hashes])
            missing = [h for h, r in zip(hashes, receipts, strict=True) if r is None]
            if missing:
                raise DevnetError(f"{len(missing)} transaction(s) not mined, first {missing[0]}")
        failed = [(h, r) for h, r in zip(hashes, receipts, strict=True) if r["status"] != "0x1"]
        if failed:
            h, _ = failed[0]
            raise DevnetError(f"{len(failed)} transaction(s) reverted, first {h}: {self.revert_reason(h)}")
        return list(receipts)

    def revert_reason(self, tx_hash: str) -> str:
        """Best-effort revert reason of a mined failed transaction (replays it with eth_call)."""
        try:
            tx = self.call("eth_getTransactionByHash", tx_hash)
            call = {"from": tx["from"], "to": tx["to"], "data": tx["input"], "gas": tx["gas"]}
            self.call("eth_call", call, tx["blockNumber"])
        except RpcResponseError as exc:
            return f"{exc} {exc.data if exc.data else ''}".strip()
        except Exception as exc:  # diagnostics only
            return f"(no reason: {exc})"
        return "(replay did not revert)"

    def deploy(self, sender: str, bytecode: str, ctor_types: Sequence[str] = (), ctor_args: Sequence[Any] = ()) -> str:
        """Deploy a contract and return its address."""
        from eth_abi.abi import encode as abi_encode

        data = bytecode if bytecode.startswith("0x") else "0x" + bytecode
        if ctor_types:
            data += abi_encode(list(ctor_types), list(ctor_args)).hex()
        tx_hash = self.send_nowait(sender, None, data)
        receipt = self.wait([tx_hash])[0]
        address = receipt.get("contractAddress")
        if not address:
            raise DevnetError("deployment receipt has no contract address")
        return str(address).lower()
