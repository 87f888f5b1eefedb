"""Which Aave v3 code a pool runs, read from the pool itself, and the maths and liquidation rules that follow.

Both Aave v3.0.x and v3.6 pools expose ``POOL_REVISION()`` (a public constant; ``getRevision()`` is internal
on both). Revisions are mapped only where measured on the real bytecode:

- 1: Aave v3.0.2 (npm ``@aave/core-v3`` 1.19.3): v3.0 health-factor maths, v3.0 liquidation rules;
- 10: Aave v3.6 (npm ``@aave-dao/aave-v3-origin`` 3.6.0): liquid e-mode (v3.2), no stable debt (v3.2),
  position-level close factor, dust rule and deficit (v3.3), rounding of v3.5.

A revision not in the table is refused at start: wrong maths would be silent. With an explicit
``liquidation_rules`` override in the config the monitor goes on with a warning, using the override's rules and
the maths of the nearest known version (v3.0 for "v3.0", v3.6 for "v3.3").
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Literal

from monitor.chain.abi import AbiFunction
from monitor.chain.rpc import RpcClient
from monitor.config import MarketConfig
from monitor.errors import MalformedResponseError, ProtocolError, RpcResponseError

log = logging.getLogger(__name__)

POOL_REVISION = AbiFunction("POOL_REVISION", (), ("uint256",))

Maths = Literal["v3.0", "v3.6"]
LiquidationRules = Literal["v3.0", "v3.3"]


class UnknownPoolRevisionError(ProtocolError):
    """The pool reports a revision whose maths the monitor does not know."""


@dataclass(frozen=True, slots=True)
class AaveVersion:
    """The Aave code a pool runs and what the monitor models for it."""

    name: str  # "v3.0" or "v3.6"
    revision: int  # POOL_REVISION()
    maths: Maths  # health-factor rounding and e-mode rules of the book
    liquidation_rules: LiquidationRules  # rules of the liquidation model
    liquid_emode: bool  # e-mode categories carry collateral/borrowable bitmaps (v3.2+)
    stable_debt: bool  # stable-rate debt exists (removed in v3.2)


V3_0 = AaveVersion("v3.0", 1, "v3.0", "v3.0", liquid_emode=False, stable_debt=True)
V3_6 = AaveVersion("v3.6", 10, "v3.6", "v3.3", liquid_emode=True, stable_debt=False)
KNOWN_REVISIONS: dict[int, AaveVersion] = {v.revision: v for v in (V3_0, V3_6)}
_BY_RULES: dict[str, AaveVersion] = {"v3.0": V3_0, "v3.3": V3_6}


def version_for_revision(revision: int, *, pool: str = "", override: str | None = None) -> AaveVersion:
    """The version of a pool reporting ``revision``; ``override`` is config's explicit ``liquidation_rules``.

    A known revision gives its own version (an override then only replaces the liquidation rules). An unknown
    one raises :class:`UnknownPoolRevisionError`, or, with an override, warns and uses the override.
    """
    if override is not None and override not in _BY_RULES:
        raise ProtocolError(f"liquidation_rules {override!r} is not one of {', '.join(_BY_RULES)}")
    known = KNOWN_REVISIONS.get(revision)
    where = f"pool {pool}" if pool else "the pool"
    if known is None:
        if override is None:
            raise UnknownPoolRevisionError(
                f"{where} reports POOL_REVISION {revision}, which this monitor does not know (known: "
                + ", ".join(f"{r} = Aave {v.name}" for r, v in sorted(KNOWN_REVISIONS.items()))
                + "); refusing to compute health factors with guessed maths. Set `liquidation_rules` on the "
                "market to go on at your own risk."
            )
        chosen = _BY_RULES[override]
        log.warning("%s reports unknown POOL_REVISION %d; going on with liquidation_rules %s and Aave %s maths "
                    "as configured: health factors may differ from the chain", where, revision, override,
                    chosen.name)  # fmt: skip
        return AaveVersion(chosen.name, revision, chosen.maths, chosen.liquidation_rules, chosen.liquid_emode,
                           chosen.stable_debt)  # fmt: skip
    if override is not None and override != known.liquidation_rules:
        log.warning("%s runs Aave %s (liquidation rules %s); the configured liquidation_rules %s override them",
                    where, known.name, known.liquidation_rules, override)  # fmt: skip
        return AaveVersion(known.name, revision, known.maths, _BY_RULES[override].liquidation_rules,
                           known.liquid_emode, known.stable_debt)  # fmt: skip
    return known


def configured_override(market: MarketConfig) -> str | None:
    """The market's ``liquidation_rules`` when the config sets it explicitly (then it overrides the pool's)."""
    return market.liquidation_rules if "liquidation_rules" in market.model_fields_set else None


def decode_revision(raw: str) -> int:
    """The ``POOL_REVISION()`` answer."""
    return int(POOL_REVISION.decode(raw)[0])


async def detect_version(rpc: RpcClient, pool: str, block: int, *, override: str | None = None) -> AaveVersion:
    """Read ``POOL_REVISION()`` of ``pool`` at ``block`` and map it (see :func:`version_for_revision`)."""
    try:
        raw = await rpc.eth_call(pool, POOL_REVISION.encode(), block)
        revision = decode_revision(raw)
    except (RpcResponseError, MalformedResponseError) as exc:
        raise UnknownPoolRevisionError(
            f"pool {pool} does not answer POOL_REVISION() at block {block}: not an Aave v3 pool? ({exc})"
        ) from exc
    return version_for_revision(revision, pool=pool, override=override)
