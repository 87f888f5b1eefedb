"""Builders and hypothesis strategies for the book tests."""

from __future__ import annotations

from hypothesis import strategies as st

from monitor.protocols.aave_v3.book import (
    ZERO_ADDRESS,
    AccountInput,
    EModeCategoryInput,
    MarketInputs,
    PositionInput,
    ReserveInput,
    encode_user_configuration,
)
from monitor.protocols.aave_v3.book.wadray import RAY

WETH = "0x" + "e0" * 20
USDC = "0x" + "c0" * 20
DAI = "0x" + "da" * 20
WBTC = "0x" + "b7" * 20
STABLE_SOURCE = "0x" + "5e" * 20


def addr(i: int) -> str:
    """A distinct account address per integer."""
    return f"0x{i:040x}"


def reserve(asset: str, symbol: str, rid: int, decimals: int, price: int, **kw: int) -> ReserveInput:
    """A reserve with usual defaults (LTV 80%, LT 85%, bonus 105%)."""
    params: dict[str, int] = {"ltv": 8000, "liquidation_threshold": 8500, "liquidation_bonus": 10500}
    params.update(kw)
    return ReserveInput(asset=asset, symbol=symbol, reserve_id=rid, decimals=decimals, price=price, **params)


def simple_market() -> MarketInputs:
    """WETH (18 dec, $2000), USDC (6 dec, $1), DAI (18 dec, $1), WBTC (8 dec, $30000); e-mode 1 = stables."""
    return MarketInputs(
        reserves=[
            reserve(WETH, "WETH", 0, 18, 2000 * 10**8, ltv=8000, liquidation_threshold=8250),
            reserve(USDC, "USDC", 1, 6, 10**8, ltv=7700, liquidation_threshold=8000, emode_category=1),
            reserve(DAI, "DAI", 2, 18, 10**8, ltv=7500, liquidation_threshold=8000, emode_category=1),
            reserve(WBTC, "WBTC", 3, 8, 30_000 * 10**8, ltv=7000, liquidation_threshold=7500, liquidation_bonus=11000),
        ],
        emode_categories=[EModeCategoryInput(1, ltv=9300, liquidation_threshold=9500, liquidation_bonus=10100)],
    )


def account(
    i: int,
    *,
    collateral: dict[str, int] | None = None,
    debt: dict[str, int] | None = None,
    emode: int = 0,
    market: MarketInputs | None = None,
) -> AccountInput:
    """An account supplying ``collateral`` (scaled, enabled) and borrowing ``debt`` (scaled variable)."""
    m = market or simple_market()
    ids = {r.asset: r.reserve_id for r in m.reserves}
    collateral = collateral or {}
    debt = debt or {}
    positions = {
        a: PositionInput(scaled_atoken=collateral.get(a, 0), scaled_variable_debt=debt.get(a, 0))
        for a in set(collateral) | set(debt)
    }
    config = encode_user_configuration([ids[a] for a in collateral], [ids[a] for a in debt])
    return AccountInput(addr(i), config, emode, positions)


# -- hypothesis strategies -------------------------------------------------------------------------------------

_DECIMALS = st.sampled_from([0, 2, 6, 8, 18, 24])


@st.composite
def markets(draw: st.DrawFn, max_reserves: int = 5) -> MarketInputs:
    """Random markets: 1..max_reserves reserves with sparse ids, up to 2 e-mode categories (maybe sourced)."""
    n = draw(st.integers(1, max_reserves))
    ids = draw(st.lists(st.integers(0, 127), min_size=n, max_size=n, unique=True))
    n_cat = draw(st.integers(0, 2))
    reserves = []
    for j, rid in enumerate(ids):
        lt = draw(st.one_of(st.just(0), st.integers(1, 9800)))
        reserves.append(
            ReserveInput(
                asset=f"0x{0xA0 + j:02x}" + "11" * 19,
                symbol=f"R{j}",
                reserve_id=rid,
                decimals=draw(_DECIMALS),
                ltv=draw(st.one_of(st.just(0), st.integers(1, max(lt, 1)))),
                liquidation_threshold=lt,
                liquidation_bonus=draw(st.integers(10_000, 11_500)),
                price=draw(st.one_of(st.integers(1, 10**6), st.integers(10**6, 10**13))),
                normalized_income=draw(st.integers(RAY, 3 * RAY)),
                normalized_variable_debt=draw(st.integers(RAY, 3 * RAY)),
                emode_category=draw(st.integers(0, n_cat)),
            )
        )
    cats = []
    source_prices = {}
    for cid in range(1, n_cat + 1):
        sourced = draw(st.integers(0, 2))
        source = ZERO_ADDRESS
        if sourced == 1:
            source = f"0x{0xF0 + cid:02x}" + "22" * 19
            source_prices[source] = draw(st.integers(0, 10**12))
        elif sourced == 2:
            source = reserves[draw(st.integers(0, n - 1))].asset
        lt = draw(st.integers(1, 9900))
        cats.append(
            EModeCategoryInput(
                cid,
                ltv=draw(st.integers(0, lt)),
                liquidation_threshold=lt,
                liquidation_bonus=draw(st.integers(10_000, 10_500)),
                price_source=source,
            )
        )
    return MarketInputs(reserves, cats, source_prices)


_AMOUNT = st.one_of(
    st.just(0),
    st.integers(1, 10**6),
    st.integers(10**6, 10**24),
    st.integers(10**24, 10**30),
)


@st.composite
def accounts(draw: st.DrawFn, market: MarketInputs, n_max: int = 6, start: int = 1) -> list[AccountInput]:
    """Random accounts of ``market`` with random flags (including balances without flags and vice versa)."""
    n = draw(st.integers(0, n_max))
    cats = [0] + [c.category_id for c in market.emode_categories]
    out = []
    for i in range(n):
        config = 0
        positions = {}
        for r in market.reserves:
            coll, borr = draw(st.booleans()), draw(st.booleans())
            config |= (int(borr) | int(coll) << 1) << (2 * r.reserve_id)
            pos = PositionInput(draw(_AMOUNT), draw(_AMOUNT), draw(st.one_of(st.just(0), _AMOUNT)))
            if not pos.is_empty:
                positions[r.asset] = pos
        out.append(AccountInput(addr(start + i), config, draw(st.sampled_from(cats)), positions))
    return out
