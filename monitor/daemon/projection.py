"""The daemon's projector: the configured scenarios every block (``"*"`` expanded per collateral asset), the
look-ahead (debt waiting for the next oracle update) every block, the sweep and critical shocks every
``sweep.every_blocks`` blocks (its last answer is kept in between). The model's parameters are the config's
(:func:`~monitor.params_config.params_from_config`). Runs in a worker thread; the sweep runs in the daemon's sweep
process (:mod:`monitor.daemon.sweeper`)."""

from __future__ import annotations

import logging
import time
from collections.abc import Iterable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import replace

from monitor.config import EACH_COLLATERAL, MarketConfig, MonitorConfig, ScenarioConfig
from monitor.daemon.result import Projections, ScenarioRound, ScenarioSummary
from monitor.daemon.sweeper import WORKER, SweepStopped
from monitor.dex.pool import PoolState
from monitor.errors import DataError
from monitor.params_config import params_from_config
from monitor.risk import (
    CascadeResult,
    Limits,
    ModelParams,
    Projector,
    RiskInput,
    SweepSpec,
    Venue,
    VenueSet,
    collateral_assets,
    gather_venues,
)
from monitor.risk.oracles import look_ahead, models_for
from monitor.venues.offchain_file import OffchainDepth

log = logging.getLogger(__name__)


class CascadeProjector:
    """Callable with the pipeline's projector signature."""

    def __init__(self, cfg: MonitorConfig, market: MarketConfig, offchain: OffchainDepth | None = None) -> None:
        self.cfg = cfg
        self.market = market
        self.params: ModelParams = params_from_config(cfg)
        # off-chain depth curves, the file reread when it changes (the daemon passes its one reader to every market)
        self.offchain = offchain if offchain is not None else OffchainDepth(cfg.dex)
        s = cfg.sweep
        steps = round(s.max_shock / s.step)
        self.spec = SweepSpec(drops=tuple(round((i + 1) * s.step, 6) for i in range(steps)))
        self.limits = Limits(amplification=s.amplification_limit, bad_debt_usd=s.bad_debt_limit_usd)
        # (block swept at, critical shocks): one attribute, so that a reader never pairs one sweep's shocks
        # with another's block while the sweep thread replaces them
        self._critical: tuple[int | None, dict[str, float | None]] = (None, {})
        self.swept_block: int | None = None  # block the newest (maybe still running) sweep started at
        self.last_sweep_s = 0.0  # wall seconds of the newest finished sweep (queued behind others included)
        self.last_sweep_cpu_s = 0.0  # its CPU seconds in the sweep process
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix=f"sweep-{market.name}")
        self._running: Future[None] | None = None
        # newest block's engine inputs: block, risk input, venues, the market's parameters
        self.latest: tuple[int, RiskInput, dict[str, Venue | VenueSet], ModelParams] | None = None

    def __call__(self, block: int, risk: RiskInput, pools: dict[str, PoolState]) -> Projections:
        """Scenario summaries for ``block``, and critical shocks (fresh or from the last sweep)."""
        cbook = risk.book
        usable = aligned_pools(pools, cbook.market.usd(cbook.market.prices))
        venues = gather_venues(cbook.market, usable, offchain=self.offchain.current(), split=self.cfg.dex.split_sales)
        params = self.params
        if params.oracles:  # Branch: the config's oracle models name assets of every market: this one's only
            params = replace(params, oracles=models_for(cbook.market, params.oracles))
        # a new book every block and a handful of projections on it: not worth arranging (Projector.arrange)
        projector = Projector(cbook, venues, params, model=risk.model, arrange=False)
        waiting = look_ahead(cbook, risk.model, venues, params.oracles)
        self.latest = (block, risk, venues, params)
        scenarios = []
        symbol = dict(zip(cbook.market.assets, cbook.market.symbols, strict=True))
        for name, shocks in expand_scenarios(self.cfg.scenarios, projector):
            try:
                r = projector.project(shocks)
            except DataError as exc:  # e.g. an asset the market does not list: say so once per block, go on
                log.warning("scenario %s skipped: %s", name, exc)
                continue
            drops = [r.drop(a) for a in r.shocks]
            scenarios.append(
                ScenarioSummary(
                    name=name,
                    final_drop=max(drops, default=0.0),
                    amplification=r.max_amplification,
                    debt_repaid_usd=r.debt_repaid_usd,
                    bad_debt_usd=r.new_bad_debt_usd,
                    bad_debt_accounts=r.bad_debt_accounts,
                    rounds=len(r.rounds),
                    accounts_liquidated=r.accounts_liquidated,
                    path=cascade_path(r, projector),
                    # a protocol whose write-offs fall on each lending market's lenders has no reserve deficits
                    # (its write-offs are the lenders' losses below, not a second loss per loan token)
                    deficit_usd_by_reserve={}
                    if risk.lender_supply_usd
                    else {symbol[a]: usd for a, usd in r.deficit_usd_by_reserve.items()},
                    lender_loss_usd={k: r.deficit_usd_by_class.get(k, 0.0) for k in risk.lender_supply_usd},
                    duration_seconds=r.duration_seconds,
                    liquidated_first_minute_usd=r.liquidated_first_minute_usd,
                    liquidated_first_hour_usd=r.liquidated_first_hour_usd,
                    dust_debt_usd=r.dust_debt_usd,
                )
            )
        self._maybe_sweep(block, risk, venues, params)
        swept_at, critical = self._critical
        return Projections(
            scenarios=tuple(scenarios),
            critical_shocks=dict(critical),
            critical_block=swept_at,
            lookahead_accounts=waiting.accounts,
            lookahead_debt_usd=waiting.debt_usd,
        )

    @property
    def critical(self) -> dict[str, float | None]:
        """The newest finished sweep's critical shocks (symbol -> shock; None: no step crosses)."""
        return self._critical[1]

    @property
    def critical_block(self) -> int | None:
        """The block the newest finished sweep ran at (None before the first)."""
        return self._critical[0]

    def what_if_projector(self) -> tuple[int, Projector] | None:
        """A projector of its own (own buffers: safe beside a running sweep) on the newest block's book, venues
        and model, with that block; None before the first block."""
        if self.latest is None:
            return None
        block, risk, venues, params = self.latest
        return block, Projector(risk.book, venues, params, model=risk.model)

    def _maybe_sweep(
        self, block: int, risk: RiskInput, venues: dict[str, Venue | VenueSet], params: ModelParams
    ) -> None:
        """Start a sweep in the background when one is due and none runs; its answer lands when ready.

        The sweep (hundreds of projections) must not hold up the per-block path: blocks keep flowing with the
        last critical shocks until the new ones are in. The sweep gets a projector of its own (in its process).
        """
        if not self.cfg.sweep.enabled:
            return
        if self._running is not None and not self._running.done():
            return
        due = self.swept_block is None or block - self.swept_block >= self.cfg.sweep.every_blocks
        if not due and block >= (self.swept_block or 0):
            return
        self.swept_block = block
        self._running = self._pool.submit(self._sweep, block, risk, venues, params)

    def _sweep(self, block: int, risk: RiskInput, venues: dict[str, Venue | VenueSet], params: ModelParams) -> None:
        """In the sweep thread: the sweep itself runs in the daemon's sweep process (:mod:`~.sweeper`; this
        thread only waits), on a fresh projector of the same book (only the book and venues travel)."""
        t0 = time.perf_counter()
        fresh = Projector(risk.book, venues, params, model=risk.model)
        try:
            critical, cpu_s = WORKER.run(fresh, self.cfg.sweep.assets or None, self.spec, self.limits)
        except SweepStopped:  # the daemon is stopping
            log.debug("sweep at block %d abandoned: the daemon stops", block)
            return
        except Exception:  # a failed sweep keeps the last answer; the next due block tries again
            log.exception("sweep at block %d failed", block)
            return
        self._critical = (block, critical)
        self.last_sweep_s = time.perf_counter() - t0
        self.last_sweep_cpu_s = cpu_s
        log.debug("sweep at block %d: %.2f s (%.2f s of CPU)", block, self.last_sweep_s, cpu_s)

    def wait_for_sweep(self, timeout: float | None = None) -> None:
        """Block until the running sweep (if any) is done (tests, benchmarks)."""
        if self._running is not None:
            self._running.result(timeout)


def cascade_path(result: CascadeResult, projector: Projector) -> tuple[ScenarioRound, ...]:
    """Round by round: prices of the assets the cascade moves (by symbol), debt repaid and new bad debt."""
    m = projector.market
    symbol = dict(zip(m.assets, m.symbols, strict=True))
    moved = [a for a in m.assets if result.final_prices_usd.get(a) != result.initial_prices_usd.get(a)]
    before = result.bad_debt_before_usd
    path = [ScenarioRound(0, 0, 0.0, 0.0, {symbol[a]: result.shocked_prices_usd[a] for a in moved})]
    for r in result.rounds:
        prices = {symbol[a]: r.oracle_prices_usd[a] for a in moved}
        path.append(
            ScenarioRound(r.round, r.accounts_liquidated, r.debt_repaid_usd, r.bad_debt_usd - before, prices, r.seconds)
        )
    return tuple(path)


def expand_scenarios(scenarios: Iterable[ScenarioConfig], projector: Projector) -> list[tuple[str, dict[str, float]]]:
    """``(name, shocks)`` of each projection: a scenario on each collateral asset (``"*"``) becomes one
    projection per collateral asset some account holds, named ``<name>-<SYMBOL>``, in the market's order."""
    out: list[tuple[str, dict[str, float]]] = []
    for sc in scenarios:
        if not sc.each_collateral:
            out.append((sc.name, dict(sc.shocks)))
            continue
        change = sc.shocks[EACH_COLLATERAL]
        m = projector.market
        for asset in collateral_assets(projector):
            out.append((f"{sc.name}-{m.symbols[m.column[asset]]}", {asset: change}))
    return out


MAX_POOL_DEVIATION = 0.05


def aligned_pools(pools: dict[str, PoolState], usd: dict[str, float]) -> dict[str, PoolState]:
    """The pools whose price agrees with the oracle within 5%: a pool far off it is not arbitraged (stale, or
    drained by a crash elsewhere) and would make a poor venue for the projected sales."""
    out = {}
    for address, p in pools.items():
        p0, p1 = usd.get(p.token0), usd.get(p.token1)
        if p0 is None or p1 is None or p0 <= 0:
            out[address] = p  # not priced by this market: let the venue choice decide
            continue
        implied = (p.sqrt_price_x96 / 2**96) ** 2 * 10.0**p.decimals0 / 10.0**p.decimals1 * p1
        if abs(implied / p0 - 1.0) <= MAX_POOL_DEVIATION:
            out[address] = p
    return out


def projector_factory(cfg: MonitorConfig, market_name: str, offchain: OffchainDepth | None = None) -> CascadeProjector:
    """The daemon's default projector for one market (``offchain``: the daemon's reader of the depth file)."""
    market = next(m for m in cfg.markets if m.name == market_name)
    return CascadeProjector(cfg, market, offchain)
