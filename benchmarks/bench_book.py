"""Benchmark of the health-factor book on synthetic positions (default 1,000,000 accounts x 8 reserves).

Run: ``.venv/bin/python -m benchmarks.bench_book [--accounts N] [--repeats K] [--seed S] [--json]``. Prints one
line per measurement (with ``--json``: those lines go to stderr and one JSON document of the figures to stdout);
the float price-only recompute target is < 50 ms for 1M accounts x 8 reserves.
"""

from __future__ import annotations

import argparse
import gc
import json
import statistics
import sys
import time
from collections.abc import Callable
from typing import Any

import numpy as np

from monitor.protocols.aave_v3.book import Book, EModeCategoryInput, MarketInputs, ReserveInput
from monitor.protocols.aave_v3.book.wadray import RAY

# symbol, decimals, USD price, LTV, LT, bonus, e-mode category, collateral weight, debt weight
RESERVES = [
    ("WETH", 18, 2000.0, 8000, 8250, 10500, 1, 0.45, 0.10),
    ("wstETH", 18, 2300.0, 6900, 7950, 10600, 1, 0.20, 0.02),
    ("WBTC", 8, 60000.0, 7000, 7500, 10650, 0, 0.15, 0.03),
    ("USDC", 6, 1.0, 7700, 8000, 10450, 2, 0.15, 0.45),
    ("DAI", 18, 1.0, 6700, 8000, 10500, 2, 0.05, 0.15),
    ("USDT", 6, 1.0, 7400, 7600, 10450, 2, 0.02, 0.25),
    ("LINK", 18, 15.0, 5300, 6800, 10700, 0, 0.05, 0.01),
    ("AAVE", 18, 100.0, 6600, 7300, 10750, 0, 0.03, 0.01),
]
STABLE_SOURCE = "0x" + "5e" * 20


def market(rng: np.random.Generator) -> MarketInputs:
    """Eight reserves; e-mode 1 (ETH, no price source) and 2 (stables, priced by one source)."""
    reserves = [
        ReserveInput(
            asset=f"0x{j + 1:040x}",
            symbol=sym,
            reserve_id=j,
            decimals=dec,
            ltv=ltv,
            liquidation_threshold=lt,
            liquidation_bonus=bonus,
            emode_category=cat,
            price=round(price * 10**8),
            normalized_income=RAY + int(rng.integers(0, 2 * 10**9)) * 10**17,
            normalized_variable_debt=RAY + int(rng.integers(0, 3 * 10**9)) * 10**17 + 7,
        )
        for j, (sym, dec, price, ltv, lt, bonus, cat, _, _) in enumerate(RESERVES)
    ]
    cats = [
        EModeCategoryInput(1, 9000, 9300, 10100, label="ETH correlated"),
        EModeCategoryInput(2, 9300, 9500, 10100, price_source=STABLE_SOURCE, label="Stablecoins"),
    ]
    return MarketInputs(reserves, cats, {STABLE_SOURCE: 10**8})


def positions(rng: np.random.Generator, n: int) -> dict[str, Any]:
    """Random collateral and debt per account, at health factors around 1.0 - 3.0."""
    r = len(RESERVES)
    coll_w = np.array([x[7] for x in RESERVES])
    debt_w = np.array([x[8] for x in RESERVES])
    price = np.array([x[2] for x in RESERVES])
    lt = np.array([x[4] for x in RESERVES]) / 1e4
    dec = [x[1] for x in RESERVES]
    coll = rng.random((n, r)) < coll_w * 1.4
    coll[~coll.any(axis=1), 0] = True
    debt = (rng.random((n, r)) < debt_w * 1.6) & ~coll
    debt[~debt.any(axis=1) & (rng.random(n) < 0.9), 3] = True

    def raw(amount_usd: np.ndarray) -> np.ndarray:
        """Token base units as Python ints (exceeding int64 for 18-decimal tokens)."""
        out = np.empty((n, r), dtype=object)
        for j in range(r):
            micro = np.round(amount_usd[:, j] / price[j] * 1e6).astype(np.int64)
            out[:, j] = micro.astype(object) * 10 ** (dec[j] - 6) if dec[j] >= 6 else micro // 10 ** (6 - dec[j])
        return out

    # E-mode populations: ETH loopers (wstETH/WETH collateral, WETH debt) and stablecoin carry (stables only).
    group = rng.random(n)
    eth, stable = group < 0.08, (group >= 0.08) & (group < 0.15)
    coll[eth], debt[eth] = False, False
    coll[eth, 1] = True
    coll[eth, 0] = rng.random(int(eth.sum())) < 0.3
    debt[eth, 0] = True
    coll[stable], debt[stable] = False, False
    coll[stable, 3] = True
    coll[stable, 4] = rng.random(int(stable.sum())) < 0.3
    debt[stable, 5] = True
    usd = np.where(coll, rng.lognormal(8.0, 1.6, (n, r)), 0.0)
    lt_eff = np.where(eth[:, None], 0.93, np.where(stable[:, None], 0.95, lt[None, :]))
    hf = 0.93 + rng.exponential(0.6, n)
    hf[eth | stable] = 1.0 + rng.exponential(0.05, int((eth | stable).sum()))
    share = np.where(debt, rng.random((n, r)) + 0.1, 0.0)
    share /= np.maximum(share.sum(axis=1, keepdims=True), 1e-12)
    debt_usd = share * ((usd * lt_eff).sum(axis=1) / hf)[:, None]
    emode = np.where(eth, 1, np.where(stable, 2, 0))
    bits = np.zeros(n, dtype=np.int64)
    for j in range(r):
        bits |= debt[:, j].astype(np.int64) << (2 * j)
        bits |= coll[:, j].astype(np.int64) << (2 * j + 1)
    return {
        "addresses": [f"0x{0x10000000 + i:040x}" for i in range(n)],
        "configs": bits.tolist(),
        "emode": emode,
        "scaled_atoken": raw(usd),
        "scaled_debt": raw(debt_usd),
    }


def rss_bytes() -> int:
    """Resident set size of this process."""
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * 4096


def timed(fn: Callable[[], object], repeats: int) -> tuple[float, float]:
    """(median, min) wall time in ms of ``repeats`` calls."""
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        times.append((time.perf_counter() - t0) * 1e3)
    return statistics.median(times), min(times)


def main() -> None:
    """Build a synthetic book and time its operations."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--accounts", type=int, default=1_000_000)
    ap.add_argument("--repeats", type=int, default=15)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--json", action="store_true", help="print one JSON document of the figures")
    args = ap.parse_args()
    out = sys.stderr if args.json else sys.stdout

    def say(line: str) -> None:
        print(line, file=out, flush=True)

    rng = np.random.default_rng(args.seed)
    m = market(rng)
    n = args.accounts
    say(f"book benchmark: {n:,} accounts x {len(m.reserves)} reserves, seed {args.seed}")

    t0 = time.perf_counter()
    cols = positions(rng, n)
    say(f"  synthetic data                      {time.perf_counter() - t0:8.2f} s")
    gc.collect()
    rss0 = rss_bytes()
    t0 = time.perf_counter()
    book = Book.from_columns(
        m, cols["addresses"], cols["configs"], cols["emode"], cols["scaled_atoken"], cols["scaled_debt"]
    )
    build_s = time.perf_counter() - t0
    say(f"  build (from_columns)                {build_s:8.2f} s")
    fig: dict[str, Any] = {"accounts": n, "reserves": len(m.reserves), "build_s": build_s}
    del cols
    gc.collect()
    rss = rss_bytes() - rss0
    say(f"  memory, RSS growth per account      {rss / n:8.0f} B   ({rss / 2**20:,.0f} MiB)")
    fig["rss_bytes_per_account"] = rss / n
    emode_share = np.bincount(book.arrays().emode, minlength=3) / n
    say(f"  e-mode share (none, ETH, stables)   {', '.join(f'{x:.1%}' for x in emode_share)}")

    base = book.prices
    shocks = iter(range(10**9))

    def new_prices() -> dict[str, int]:
        k = next(shocks)
        return {a: p * (1000 - (k % 7)) // 1000 for a, p in base.items()}

    med, best = timed(lambda: book.set_prices(new_prices()), args.repeats)
    verdict = "OK" if med < 50 else "over the 50 ms goal"
    say(f"  price-only recompute (set_prices)   {med:8.1f} ms median, {best:.1f} ms min  [{verdict}]")
    fig.update(set_prices_ms=med, set_prices_min_ms=best)
    med, best = timed(lambda: book.health_factors_at(new_prices()), args.repeats)
    say(f"  what-if HFs (health_factors_at)     {med:8.1f} ms median, {best:.1f} ms min")
    fig["health_factors_at_ms"] = med
    weth = m.reserves[0].asset
    idx = m.reserves[0]
    med, _ = timed(
        lambda: book.set_indexes({weth: (idx.normalized_income + 10**20, idx.normalized_variable_debt + 10**20)}), 3
    )
    say(f"  index update, one reserve           {med:8.0f} ms")
    fig["index_update_one_reserve_ms"] = med
    all_idx = {r.asset: (r.normalized_income + 10**21, r.normalized_variable_debt + 10**21) for r in m.reserves}
    med, _ = timed(lambda: book.set_indexes(all_idx), 1)
    say(f"  index update, all reserves          {med:8.0f} ms")
    fig["index_update_all_reserves_ms"] = med

    sample = [book.account_input(a) for a in book.addresses[:1000]]
    t0 = time.perf_counter()
    for acc in sample:
        book.upsert_account(acc)
    fig["upsert_one_ms"] = (time.perf_counter() - t0) / len(sample) * 1e3
    say(f"  upsert one account                  {fig['upsert_one_ms']:8.3f} ms each")
    t0 = time.perf_counter()
    book.upsert_accounts(sample)
    fig["upsert_batch_ms"] = (time.perf_counter() - t0) * 1e3
    say(f"  upsert {len(sample):,} accounts in one batch  {fig['upsert_batch_ms']:8.1f} ms")
    t0 = time.perf_counter()
    for acc in sample[:200]:
        book.account_data(acc.address)
    fig["account_data_one_ms"] = (time.perf_counter() - t0) / len(sample[:200]) * 1e3
    say(f"  exact account_data, one account     {fig['account_data_one_ms']:8.3f} ms")
    exact_n = min(n, 100_000)
    small = Book.build(m, [book.account_input(a) for a in book.addresses[:exact_n]])
    t0 = time.perf_counter()
    small.health_factors_wad()
    fig.update(exact_hf_accounts=exact_n, exact_hf_s=time.perf_counter() - t0)
    say(f"  exact HFs, {exact_n:,} accounts         {fig['exact_hf_s']:8.2f} s")

    edges = [1.0, 1.01, 1.02, 1.05, 1.1, 1.15, 1.2, 1.25, 1.5, 2.0, 3.0, 5.0]
    for label, fn in (
        ("distribution (12 edges)", lambda: book.distribution(edges)),
        ("liquidatable debt", book.liquidatable_debt),
        ("liquidation prices, WETH", lambda: book.liquidation_prices(weth)),
        ("collateral at risk, WETH 1..90%", lambda: book.collateral_at_risk(weth)),
        ("riskiest 20", lambda: book.riskiest(20)),
        ("toxic accounts", book.toxic_accounts),
    ):
        med, _ = timed(fn, 3)
        say(f"  {label:<36}{med:8.1f} ms")
        fig[label.split(" (")[0].split(",")[0].replace(" ", "_") + "_ms"] = med
    liq = book.liquidatable_debt()
    say(f"  (liquidatable now: {liq.accounts:,} accounts, ${liq.debt_usd:,.0f} debt)")
    if args.json:
        print(json.dumps(fig, indent=1))


if __name__ == "__main__":
    main()
