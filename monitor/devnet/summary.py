"""A readable one-screen summary of a running devnet: accounts, debt, health factors, prices, pools."""

from __future__ import annotations

from monitor.devnet.deployment import Deployment
from monitor.devnet.market import oracle_price, pool_price_usd, slot0
from monitor.devnet.population import account_data
from monitor.devnet.rpc import DevRpc
from monitor.devnet.spec import FEED_UNIT

WAD = 10**18
EDGES = (1.0, 1.05, 1.1, 1.25, 1.5, 2.0, 3.0)


def summary_text(rpc: DevRpc, dep: Deployment) -> str:
    """Text summary at the latest block."""
    block = rpc.block_number()
    rows = account_data(rpc, dep, dep.borrowers, block)
    with_debt = [r for r in rows if r[1] > 0]
    coll = sum(r[0] for r in with_debt) / FEED_UNIT
    debt = sum(r[1] for r in with_debt) / FEED_UNIT
    lines = [
        f"devnet at block {block}: {len(dep.borrowers)} accounts, {len(with_debt)} with debt",
        f"  collateral ${coll:,.0f}  debt ${debt:,.0f}",
        "  health factor distribution (accounts, debt USD):",
    ]
    lows = (0.0, *EDGES)
    highs = (*EDGES, float("inf"))
    for lo, hi in zip(lows, highs, strict=True):
        sel = [r for r in with_debt if lo <= r[5] / WAD < hi]
        label = f"[{lo:.2f}, {hi:.2f})" if hi != float("inf") else f">= {lo:.2f}"
        bar = "#" * min(40, len(sel) * 40 // max(len(with_debt), 1))
        lines.append(f"    {label:>14} {len(sel):6d}  ${sum(r[1] for r in sel) / FEED_UNIT:>15,.0f}  {bar}")
    lines.append("  oracle prices (USD): " + "  ".join(
        f"{s} {oracle_price(rpc, dep, s, block) / FEED_UNIT:,.2f}" for s in dep.tokens))  # fmt: skip
    for p in dep.pools:
        sqrt_p, tick = slot0(rpc, p, block)
        lines.append(
            f"  pool {p.symbol}/{p.quote} {p.fee / 1e4:.2f}% {p.address}: {pool_price_usd(dep, p, sqrt_p):,.4f} USD"
            f" (tick {tick})"
        )
    return "\n".join(lines)
