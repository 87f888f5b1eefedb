"""``cascade-monitor quote`` and ``depth`` on the devnet: quotes equal QuoterV2 exactly, each depth level moves
the price by its level when actually swapped, and bad input is a one-line error with exit code 2."""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from monitor.chain.rpc import RpcClient
from monitor.cli import main
from monitor.commands.depth import UsdPrice, derive_prices
from monitor.config import ChainConfig
from monitor.devnet.deployment import PoolInfo
from monitor.devnet.market import oracle_price, quote_exact_in
from monitor.devnet.monitor_config import devnet_config
from monitor.dex import DEFAULT_PCTS, MAX_SQRT_RATIO, MIN_SQRT_RATIO, PoolState, pool_curve, pool_from_positions, split
from monitor.venues.uniswap_v3 import read_pool
from tests.conftest import Devnet

Q96 = 2**96


def _config(devnet: Devnet, tmp_path: Path, **dex: Any) -> Path:
    cfg = devnet_config(devnet.url, devnet.dep, checkpoint=str(tmp_path / "cp.sqlite"))
    cfg["dex"].update(dex)
    path = tmp_path / "monitor.yaml"
    path.write_text(yaml.safe_dump(cfg))
    return path


def _cli(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    rc = main(list(argv))
    out, err = capsys.readouterr()
    return rc, out, err


def _quote_args(config: Path, pool: str, token_in: str, amount: str | int) -> list[str]:
    return ["quote", "--config", str(config), "--pool", pool, "--token-in", token_in, "--amount-in", str(amount)]


def test_quote_json_equals_quoter_v2_both_directions(
    devnet: Devnet, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = _config(devnet, tmp_path)
    dep = devnet.dep
    block = devnet.rpc.block_number()
    crossed: set[int] = set()
    partial = 0
    for pool in (dep.main_pool("WETH"), dep.main_pool("WBTC")):
        for token_in in (pool.token0, pool.token1):
            decimals = dep.token(token_in).decimals
            # dust, a trade, a big trade crossing ticks, and more than the pool holds (a partial fill)
            for amount in (7, 3 * 10**decimals, 10 ** (decimals + 5), 10**45):
                rc, out, err = _cli(capsys, *_quote_args(config, pool.address, token_in, amount), "--json")
                assert rc == 0, err
                doc = json.loads(out)
                assert list(doc) == ["amount_out", "sqrt_price_x96_after", "ticks_crossed"]
                expected = quote_exact_in(devnet.rpc, dep, pool, token_in, amount, block)
                assert (int(doc["amount_out"]), int(doc["sqrt_price_x96_after"]), doc["ticks_crossed"]) == expected
                assert isinstance(doc["amount_out"], str) and isinstance(doc["ticks_crossed"], int)
                crossed.add(doc["ticks_crossed"])
                partial += int(doc["sqrt_price_x96_after"]) in (MIN_SQRT_RATIO + 1, MAX_SQRT_RATIO - 1)
    assert len(crossed) > 3 and partial == 4, "dust to beyond the pool: tick crossings and partial fills"
    assert devnet.rpc.block_number() == block, "quotes do not touch the chain"


def test_quote_through_the_console_script_and_text(
    devnet: Devnet, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = _config(devnet, tmp_path)
    pool = devnet.dep.main_pool("WETH")
    weth = devnet.dep.token("WETH").address
    checksum_like = "0x" + pool.address[2:].upper()  # addresses are accepted in any case
    argv = [sys.executable, "-m", "monitor", *_quote_args(config, checksum_like, weth, 10**21), "--json"]
    proc = subprocess.run(argv, capture_output=True, text=True, check=False, timeout=120)
    assert proc.returncode == 0, proc.stderr
    out, sqrt_after, crossed = quote_exact_in(devnet.rpc, devnet.dep, pool, weth, 10**21)
    assert json.loads(proc.stdout) == {
        "amount_out": str(out),
        "sqrt_price_x96_after": str(sqrt_after),
        "ticks_crossed": crossed,
    }

    rc, text, err = _cli(capsys, *_quote_args(config, pool.address, weth, 10**21))
    assert rc == 0, err
    assert f"at block {devnet.rpc.block_number()}" in text
    assert "WETH/USDC fee 0.05%" in text and "1,000.000000 WETH" in text and f"({out} raw)" in text
    assert "USDC per WETH" in text and "PARTIAL" not in text
    rc, text, err = _cli(capsys, *_quote_args(config, pool.address, weth, 10**45))
    assert rc == 0 and "PARTIAL FILL" in text


def _error(capsys: pytest.CaptureFixture[str], *argv: str) -> str:
    rc, out, err = _cli(capsys, *argv)
    assert rc == 2, (out, err)
    assert out == ""
    assert err.count("\n") == 1 and err.startswith(f"cascade-monitor {argv[0]}: error: "), err
    return err


def test_quote_bad_input_is_a_one_line_error(
    devnet: Devnet, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = _config(devnet, tmp_path)
    dep = devnet.dep
    pool = dep.main_pool("WETH")
    weth, wbtc = dep.token("WETH").address, dep.token("WBTC").address
    for amount in ("-5", "1.5", "1e18", "abc", "0x10", "", "0", str(2**255)):
        err = _error(capsys, *_quote_args(config, pool.address, weth, amount))
        assert "--amount-in" in err
    for not_a_pool in (dep.pool, weth, "0x" + "12" * 20):  # the Aave Pool, an ERC20, an address without code
        err = _error(capsys, *_quote_args(config, not_a_pool, weth, 10**18))
        assert not_a_pool in err and "Uniswap v3 pool" in err
    err = _error(capsys, *_quote_args(config, pool.address, wbtc, 10**8))
    assert wbtc in err and "not a token of pool" in err
    err = _error(capsys, *_quote_args(config, "0x1234", weth, 10**18))
    assert "--pool must be a 0x-prefixed 20-byte hex address" in err
    err = _error(capsys, *_quote_args(config, pool.address, "WETH", 10**18))
    assert "--token-in" in err
    err = _error(capsys, *_quote_args(config, pool.address, weth, 10**18), "--block", str(10**9))
    assert "latest block is" in err


def _marginal_rate(sqrt_price_x96: int, fee: int, zero_for_one: bool) -> float:
    """Raw output per raw input of the next unit sold, fee included."""
    price = (sqrt_price_x96 / Q96) ** 2
    keep = 1 - fee / 1e6
    return price * keep if zero_for_one else keep / price


def _realized_move(before: float, after: float, zero_for_one: bool) -> float:
    """The pool-price move a marginal-rate change means: down when selling token0, up when selling token1."""
    return 1 - after / before if zero_for_one else before / after - 1


async def _states(devnet: Devnet, pools: list[str], block: int) -> dict[str, PoolState]:
    async with RpcClient(ChainConfig(rpc_urls=[devnet.url], chain_id=devnet.dep.chain_id)) as rpc:
        return {p: await read_pool(rpc, p, block) for p in pools}


def test_depth_levels_move_the_price_by_their_level(
    devnet: Devnet, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    dep = devnet.dep
    rc, out, err = _cli(capsys, "depth", "--config", str(_config(devnet, tmp_path)), "--json")
    assert rc == 0, err
    doc = json.loads(out)
    block = doc["block"]
    assert doc["moves"] == list(DEFAULT_PCTS)
    assert [p["address"] for p in doc["pools"]] == [p.address for p in dep.pools]
    # every devnet token is listed on the devnet Aave market: priced by its oracle
    for token in {t for p in dep.pools for t in (p.token0, p.token1)}:
        price = doc["prices"][token]
        assert price["source"] == "Aave oracle of market devnet-aave"
        assert price["usd"] == oracle_price(devnet.rpc, dep, dep.token(token).symbol, block) / 1e8
    infos = {p.address: p for p in dep.pools}
    checked = 0
    for pool in doc["pools"]:
        info: PoolInfo = infos[pool["address"]]
        sqrt_now = int(pool["sqrt_price_x96"])
        for side in pool["sides"]:
            zero_for_one = side["token_in"] == info.token0
            assert side["price_move"] == ("down" if zero_for_one else "up")
            usd = doc["prices"][side["token_in"]]["usd"]
            amounts = [float(level["amount_in"]) for level in side["levels"]]
            assert amounts == sorted(amounts) and amounts[0] > 0
            for level in side["levels"]:
                assert level["reached"]
                assert level["usd"] == pytest.approx(level["amount_in"] * usd, rel=1e-12)
                # swapped on chain, the level's amount moves the pool price by the level (within 0.1 % of it)
                out_amount, sqrt_after, _ = quote_exact_in(
                    devnet.rpc, dep, info, side["token_in"], int(level["amount_in_raw"]), block
                )
                before = _marginal_rate(sqrt_now, info.fee, zero_for_one)
                after = _marginal_rate(sqrt_after, info.fee, zero_for_one)
                assert _realized_move(before, after, zero_for_one) == pytest.approx(level["move"], rel=1e-3)
                assert out_amount == pytest.approx(int(level["amount_out_raw"]), rel=1e-6)
                checked += 1
    assert checked == len(dep.pools) * 2 * len(DEFAULT_PCTS)

    # the pair over both WETH/USDC fee tiers: each tier's share, swapped on chain, ends at the common marginal rate
    (pair,) = [p for p in doc["pairs"] if len(p["pools"]) > 1]
    tiers = [infos[a] for a in pair["pools"]]
    assert {t.fee for t in tiers} == {500, 3000} and len(doc["pairs"]) == len(dep.pools) - 1
    states = asyncio.run(_states(devnet, pair["pools"], block))
    for side in pair["sides"]:
        zero_for_one = side["token_in"] == pair["token0"]
        curves = [pool_curve(states[t.address], zero_for_one).curve for t in tiers]
        best = max(_marginal_rate(states[t.address].sqrt_price_x96, t.fee, zero_for_one) for t in tiers)
        for level in side["levels"]:
            total = int(level["amount_in_raw"])
            parts = split(curves, float(total))
            assert sum(parts) == pytest.approx(total, rel=1e-9)
            for tier, part in zip(tiers, parts, strict=True):
                if int(part) == 0:
                    spot = _marginal_rate(states[tier.address].sqrt_price_x96, tier.fee, zero_for_one)
                    assert _realized_move(best, spot, zero_for_one) >= level["move"] * (1 - 1e-3)
                    continue
                _, sqrt_after, _ = quote_exact_in(devnet.rpc, dep, tier, side["token_in"], int(part), block)
                after = _marginal_rate(sqrt_after, tier.fee, zero_for_one)
                assert _realized_move(best, after, zero_for_one) == pytest.approx(level["move"], rel=1e-3)


def test_depth_text_table_has_units(devnet: Devnet, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    rc, text, err = _cli(capsys, "depth", "--config", str(_config(devnet, tmp_path)))
    assert rc == 0, err
    assert f"at block {devnet.rpc.block_number()}" in text
    header = [line for line in text.splitlines() if "amount sold to move the price by" in line]
    assert len(header) == len(devnet.dep.pools) + 1  # every pool and the WETH/USDC pair
    assert all(h.split()[-5:] == ["1%", "2%", "5%", "10%", "25%"] for h in header)
    for symbol in ("WETH", "WBTC", "LINK", "DAI"):
        assert f"sell {symbol} (price down)" in text
        assert f"{symbol}/USDC" in text
    assert "sell USDC (price up)" in text and "$" in text
    assert "WETH     $3,000  (Aave oracle of market devnet-aave)" in text
    assert "pair WETH/USDC over 2 fee tiers (0.05%, 0.3%)" in text


def test_depth_bad_config_is_a_one_line_error(
    devnet: Devnet, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    err = _error(capsys, "depth", "--config", str(_config(devnet, tmp_path, pools=[devnet.dep.pool])))
    assert devnet.dep.pool in err and "Uniswap v3 pool" in err
    err = _error(capsys, "depth", "--config", str(_config(devnet, tmp_path, pools=[])))
    assert "dex.pools" in err


@pytest.mark.parametrize("argv", [["--help"], ["quote", "--help"], ["depth", "--help"]])
def test_help_lists_and_explains_the_commands(argv: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_info:
        main(argv)
    assert exit_info.value.code == 0
    text = capsys.readouterr().out
    assert ("quote" in text and "depth" in text) if argv == ["--help"] else "--config" in text


def _state(token0: str, token1: str, price_raw: float, decimals: tuple[int, int]) -> PoolState:
    sqrt = int(price_raw**0.5 * Q96)
    return pool_from_positions(token0, token1, *decimals, 3000, 60, sqrt, [(-887220, 887220, 10**20)])


def test_usd_prices_without_an_oracle_come_from_a_stablecoin_side() -> None:
    weth, usdt, link, odd = "0x" + "1" * 40, "0x" + "2" * 40, "0x" + "3" * 40, "0x" + "4" * 40
    symbols = {weth: "WETH", usdt: "USDT", link: "LINK", odd: "ODD"}
    states = [
        _state(weth, usdt, 2_500.0 * 10**6 / 10**18, (18, 6)),  # 2,500 USDT per WETH
        _state(weth, link, 200.0, (18, 18)),  # 200 LINK per WETH
        _state(link, odd, 1.0, (18, 18)),
    ]
    prices = derive_prices(states, symbols, {})
    assert prices[usdt] == UsdPrice(1.0, "USDT taken as $1")
    assert prices[weth].usd == pytest.approx(2_500.0) and "against USDT" in prices[weth].source
    # one hop only: LINK is priced through WETH only if WETH's price is not itself derived
    assert link not in prices and odd not in prices
    oracle = {link: UsdPrice(12.5, "Aave oracle of market m")}
    prices = derive_prices(states, symbols, oracle)
    assert prices[link] == oracle[link]
    assert prices[odd].usd == pytest.approx(12.5) and "against LINK" in prices[odd].source
