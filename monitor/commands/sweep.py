"""``cascade-monitor sweep --config F [--workers N] [--json]``: cascade curves for 1%..90% drops and the critical
shocks.

For each asset (the config's ``sweep.assets``, ``--asset``, or every collateral asset some account holds) the
engine projects a drop at every step up to ``sweep.max_shock`` and finds the smallest drop whose cascade
crosses ``sweep.amplification_limit`` or ``sweep.bad_debt_limit_usd`` (new bad debt) by bisection, and what the
cascade at that shock costs (lenders' losses per market where the protocol reports them). A config with several
markets sweeps the system projection (critical shocks of the whole system); ``--market NAME`` one market. The
assets are spread over forked processes, one per CPU by default (``--workers``).
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import os
import sys
import time
from typing import Any

from monitor.commands import system
from monitor.commands.cascade_json import assets_json
from monitor.commands.simulate import add_model_arguments, liquidation_rules, model_params, projector_for
from monitor.config import load_config
from monitor.errors import ConfigError
from monitor.logs import protect_config
from monitor.risk import Limits, Projector, SweepResult, SweepSpec, sweep
from monitor.risk.buffers import buffer_exhausting_shock
from monitor.snapshot import MarketSnapshot

HELP = "cascade curves for 1% to 90% drops of each collateral asset, and the critical shock of each"
#: Drops shown in the text table.
SHOWN = (0.01, 0.02, 0.05, 0.1, 0.15, 0.2, 0.25, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Declare the command's options."""
    parser.add_argument("--asset", action="append", default=None, help="asset to sweep (symbol or address; repeatable)")
    parser.add_argument("--workers", type=int, default=None,
                        help="processes the assets are spread over (default: one per CPU this process may use, "
                             "at most one per asset; 1: all in this process)")  # fmt: skip
    add_model_arguments(parser)


def default_workers() -> int:
    """One process per CPU this process may run on, where processes can be forked (else one)."""
    if "fork" not in multiprocessing.get_all_start_methods():
        return 1
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1


def spec_and_limits(args: argparse.Namespace) -> tuple[SweepSpec, Limits, list[str]]:
    """Steps, limits and assets from the config's ``sweep`` section (``--asset`` wins)."""
    cfg = load_config(args.config).sweep
    steps = round(cfg.max_shock / cfg.step)
    if steps < 1:
        raise ConfigError("sweep.max_shock must be at least one sweep.step")
    drops = tuple(round(cfg.step * i, 10) for i in range(1, steps + 1))
    spec = SweepSpec(drops=drops, tolerance=min(0.001, cfg.step / 4))
    limits = Limits(amplification=cfg.amplification_limit, bad_debt_usd=cfg.bad_debt_limit_usd)
    return spec, limits, list(args.asset or cfg.assets)


def at_critical_shocks(snap: MarketSnapshot, projector: Projector, result: SweepResult) -> dict[str, dict[str, Any]]:
    """Per swept asset with a critical shock, the cascade at that shock projected once more: its totals and the
    protocol's own fields of a projection (the view's :meth:`~monitor.protocols.base.MarketView.scenario_fields`,
    e.g. lenders' losses per market)."""
    out: dict[str, dict[str, Any]] = {}
    for a in result.assets:
        if a.critical_shock is None:
            continue
        r = projector.project({a.asset: -a.critical_shock})
        out[a.asset] = {
            "drop": a.critical_shock,
            "debt_repaid_usd": r.debt_repaid_usd,
            "bad_debt_usd": r.new_bad_debt_usd,
            **snap.view.scenario_fields(r),
        }
    return out


def buffer_exhausting_shocks(
    snap: MarketSnapshot, projector: Projector, result: SweepResult, spec: SweepSpec
) -> dict[str, float | None]:
    """Per swept asset, the smallest drop whose projected loss exceeds the buffer of some loss-bearing unit
    (:func:`~monitor.risk.buffers.buffer_exhausting_shock`; None: no step up to the largest exhausts one)."""
    return {
        a.asset: buffer_exhausting_shock(projector, a.asset, spec, snap.view.buffer_coverage) for a in result.assets
    }


def document(
    snap: MarketSnapshot,
    result: SweepResult,
    seconds: float,
    critical: dict[str, dict[str, Any]] | None = None,
    exhausting: dict[str, float | None] | None = None,
) -> dict[str, Any]:
    """The ``--json`` document; ``critical``: :func:`at_critical_shocks` (``at_critical_shock`` per asset);
    ``exhausting``: :func:`buffer_exhausting_shocks` (``buffer_exhausting_shock`` per asset)."""
    return {
        "block": snap.block,
        "market": snap.config.name,
        "limits": {"amplification": result.limits.amplification, "bad_debt_usd": result.limits.bad_debt_usd},
        "seconds": seconds,
        "assets": [
            {
                **asset,
                "at_critical_shock": (critical or {}).get(asset["asset"]),
                "buffer_exhausting_shock": (exhausting or {}).get(asset["asset"]),
            }
            for asset in assets_json(result)
        ],
    }


def text(
    snap: MarketSnapshot | str,
    result: SweepResult,
    seconds: float,
    critical: dict[str, dict[str, Any]] | None = None,
) -> str:
    """Per asset: a table at a few drops, the critical shock and lenders' losses there (``snap``: the market, or
    a title)."""
    lim = result.limits
    title = snap if isinstance(snap, str) else f"{snap.config.name} at block {snap.block}"
    lines = [
        f"{title}: sweep of {len(result.assets)} assets in {seconds:.1f} s "
        f"(limits: amplification {lim.amplification:g}, new bad debt ${lim.bad_debt_usd:,.0f})"
    ]
    for a in result.assets:
        crit = (
            f"critical shock {a.critical_shock:.1%} ({a.critical_reason})"
            if a.critical_shock is not None
            else f"no drop up to {a.drops[-1]:.0%} crosses the limits"
        )
        lines += [
            "",
            f"  {a.symbol} ({a.asset}): {crit}",
            "     drop  final drop   ampl.  liquidated   debt repaid $  new bad debt $",
        ]
        for key, loss in (critical or {}).get(a.asset, {}).get("lender_loss_by_market", {}).items():
            if loss["usd"] > 0:
                lines.insert(-1, f"    at the critical shock, lenders of market {key} lose ${loss['usd']:,.0f} "
                                 f"({loss['pct_of_supply']:.2f}% of supply)")  # fmt: skip
        for i, d in enumerate(a.drops):
            if any(abs(d - s) < 1e-9 for s in SHOWN):
                lines.append(
                    f"    {d:5.0%}  {a.final_drop[i]:10.2%}  {a.amplification[i]:6.3f}  {a.accounts_liquidated[i]:10,}"
                    f"  {a.debt_repaid_usd[i]:14,.0f}  {a.new_bad_debt_usd[i]:14,.0f}"
                )
    return "\n".join(lines)


def run(args: argparse.Namespace) -> int:
    """Read, sweep, print."""
    spec, limits, assets = spec_and_limits(args)
    workers = default_workers() if args.workers is None else args.workers
    if workers < 1:
        raise ConfigError(f"--workers must be at least 1, got {workers}")
    cfg = load_config(args.config)
    if system.is_system(cfg, args):
        # Branch: several markets and no --market -> the curves and critical shocks of the system.
        protect_config(cfg)
        snaps, whole = system.system_projector(cfg, args, liquidation_rules, model_params(args, cfg))
        start = time.perf_counter()
        swept = sweep(whole.projector, assets or None, spec, limits, workers=workers)
        seconds = time.perf_counter() - start
        block = snaps[0].block
        if args.json:
            exhausting = system.buffer_exhausting_shocks(snaps, whole, swept, spec)
            json.dump(system.sweep_document(block, whole, swept, seconds, exhausting), sys.stdout)
            sys.stdout.write("\n")
        else:
            names = ", ".join(m.name for m in whole.table.members)
            print(text(f"system of {len(snaps)} markets ({names}) at block {block}", swept, seconds))
        return 0
    snap, projector = projector_for(args)
    start = time.perf_counter()
    result = sweep(projector, assets or None, spec, limits, workers=workers)
    seconds = time.perf_counter() - start
    critical = at_critical_shocks(snap, projector, result)
    if args.json:
        exhausting = buffer_exhausting_shocks(snap, projector, result, spec)
        json.dump(document(snap, result, seconds, critical, exhausting), sys.stdout)
        sys.stdout.write("\n")
    else:
        print(text(snap, result, seconds, critical))
    return 0
