"""What the deploy tests know about PromQL and the daemon's metrics.

- :func:`exported` runs the daemon's own collector (monitor/daemon/metrics.py) on a synthetic result with every
  field filled, and returns every sample name it exports with its label names: the truth the rules and the
  dashboard are checked against, never a hand-written list.
- :func:`selectors` finds the vector selectors (metric name + label matchers) of a PromQL expression with a small
  lexer: enough for the expressions of deploy/, not a full parser (a live Prometheus parses them for real).
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any

from monitor.chain.stats import RpcStats
from monitor.daemon.metrics import ExporterSources, Metrics
from monitor.daemon.result import MarketResult, PoolSummary, RiskyAccount, ScenarioSummary
from monitor.daemon.store import AlertState, OutboxStats, ResultStore
from monitor.daemon.system import SystemProjections, SystemScenario
from monitor.risk.buffers import Coverage
from monitor.risk.system import Contagion, MarketFigures
from tests.deploy.servers import DASHBOARD

# Series Prometheus itself makes, which rules and panels may use besides the daemon's.
PROMETHEUS_OWN: dict[str, frozenset[str] | None] = {
    "up": frozenset({"job", "instance"}),
    "ALERTS": None,
}  # None: any label (alert labels vary)
TARGET_LABELS = {"job", "instance"}  # added to every scraped series

# Grafana variables and the values the checks put in their place.
GRAFANA_VARS = {"$__rate_interval": "1m", "$market": "devnet-aave", "$asset": "WETH", "${datasource}": "prometheus"}


def synthetic_result(market: str = "m") -> MarketResult:
    """A result with every field filled, so the collector exports every family with samples."""
    return MarketResult(
        market=market,
        block=100,
        block_timestamp=1_700_000_000,
        computed_at=1_700_000_001.0,
        processing_s=0.5,
        accounts=10,
        accounts_with_debt=5,
        collateral_usd=1000.0,
        debt_usd=500.0,
        hf_edges=(1.0, 1.1),
        hf_counts_cumulative=(1, 2),
        hf_debt_cumulative_usd=(10.0, 20.0),
        liquidatable_accounts=1,
        liquidatable_debt_usd=10.0,
        toxic_accounts=1,
        collateral_at_risk_usd=MappingProxyType({"WETH": MappingProxyType({0.1: 100.0})}),
        oracle_prices_usd=MappingProxyType({"WETH": 2000.0}),
        oracle_dex_deviation=MappingProxyType({"WETH": 0.01}),
        pools=(
            PoolSummary(
                address="0x" + "11" * 20,
                pair="WETH/USDC 0.05%",
                base_symbol="WETH",
                price_usd=2000.0,
                depth_down_usd=MappingProxyType({0.02: 1e6}),
                depth_up_usd=MappingProxyType({0.02: 1e6}),
            ),
        ),
        scenarios=(
            ScenarioSummary(
                name="eth-30",
                final_drop=0.35,
                amplification=1.17,
                debt_repaid_usd=100.0,
                bad_debt_usd=5.0,
                bad_debt_accounts=1,
                rounds=3,
                accounts_liquidated=2,
                deficit_usd_by_reserve=MappingProxyType({"USDC": 4.0}),
                lender_loss_usd=MappingProxyType({"0x" + "33" * 32: 1.0}),
            ),
        ),
        critical_shocks=MappingProxyType({"WETH": 0.4}),
        top_accounts=(RiskyAccount(address="0x" + "22" * 20, health_factor=0.9, debt_usd=10.0, collateral_usd=11.0),),
        reserve_deficit_usd=MappingProxyType({"USDC": 3.0}),
        unpriced_markets=MappingProxyType({"0x" + "44" * 32: "oracle 0x.. price() reverted"}),
    )


@dataclass(frozen=True)
class Exported:
    """The daemon's metrics: sample name -> label names, and the family each sample belongs to."""

    labels: dict[str, frozenset[str]]
    family_of: dict[str, str]
    families_without_samples: frozenset[str]


def exported() -> Exported:
    """Run the daemon's registry (collector + histogram) on synthetic data with every source filled."""
    store = ResultStore(["m"], stale_after_s=1e9)
    store.publish(synthetic_result("m"))
    figures = MarketFigures("m", "aave-v3", accounts_liquidated=2, debt_repaid_usd=100.0, bad_debt_usd=5.0,
                            bad_debt_accounts=1)  # fmt: skip
    extra = Contagion(accounts_liquidated=1, debt_repaid_usd=10.0, bad_debt_usd=1.0)
    cover = MappingProxyType({"m": MappingProxyType({"USDC": Coverage(buffer_usd=1.0, loss_usd=2.0)})})
    scenario = SystemScenario("eth-30", 100.0, 5.0, MappingProxyType({"m": extra}), markets=(figures,), buffers=cover)
    store.publish_system(SystemProjections(100, ("m",), (scenario,), 1_700_000_000))
    rpc_stats = lambda: RpcStats(  # noqa: E731
        requests=MappingProxyType({("eth_call", "http://node"): 3}),
        errors=MappingProxyType({("eth_call", "http://node", "timeout"): 1}),
        retries=MappingProxyType({("eth_call", "http://node"): 1}),
        http_requests=MappingProxyType({"http://node": 3}),
        http_seconds=MappingProxyType({"http://node": 0.3}),
        failovers=1,
    )
    sources = ExporterSources(
        rpc_stats=rpc_stats,
        alert_states=lambda: [AlertState(market="m", rule="r", severity="page", active=True, value=1.0)],
        outbox_stats=lambda: OutboxStats(connected=True, published=1, dropped=0, reconnects=0, queued=0),
    )
    metrics = Metrics(store, sources)
    labels: dict[str, frozenset[str]] = {}
    family_of: dict[str, str] = {}
    empty = set()
    for fam in metrics.registry.collect():
        if not fam.samples:
            empty.add(fam.name)
        for s in fam.samples:
            labels[s.name] = labels.get(s.name, frozenset()) | frozenset(s.labels)
            family_of[s.name] = fam.name
    return Exported(labels, family_of, frozenset(empty))


@dataclass(frozen=True)
class Selector:
    """One vector selector: a metric name and its label matchers (label, op, value)."""

    name: str
    matchers: tuple[tuple[str, str, str], ...]

    def promql(self) -> str:
        """The selector alone, as PromQL."""
        inner = ", ".join(f"{k}{op}{_quote(v)}" for k, op, v in self.matchers)
        return f"{self.name}{{{inner}}}" if inner else self.name


def _quote(value: str) -> str:
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


_TOKEN = re.compile(
    r"""
    (?P<ws>\s+)
  | (?P<string>"(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*'|`[^`]*`)
  | (?P<number>(?:0x[0-9a-fA-F]+|\d+(?:\.\d*)?(?:[eE][+-]?\d+)?|\.\d+(?:[eE][+-]?\d+)?)(?:[smhdwy]|ms)*)
  | (?P<ident>[A-Za-z_:][A-Za-z0-9_:]*)
  | (?P<lbrace>\{)
  | (?P<rbrace>\})
  | (?P<lbracket>\[)
  | (?P<rbracket>\])
  | (?P<lparen>\()
  | (?P<rparen>\))
  | (?P<op>==|!=|=~|!~|>=|<=|[-+*/%^<>=,@:])
    """,
    re.VERBOSE,
)
# Words that are never metric names in an expression position.
_KEYWORDS = {"and", "or", "unless", "bool", "offset", "inf", "nan", "atan2"}
# Words followed by a parenthesised list of label names.
_LABEL_LISTS = {"by", "without", "on", "ignoring", "group_left", "group_right"}
_KEYWORDS |= _LABEL_LISTS
_MATCHER = re.compile(r'\s*([A-Za-z_][A-Za-z0-9_]*)\s*(=~|!~|!=|=)\s*("(?:[^"\\]|\\.)*")\s*,?')


def _tokens(expr: str) -> list[tuple[str, str]]:
    out = []
    pos = 0
    while pos < len(expr):
        m = _TOKEN.match(expr, pos)
        if m is None:
            raise ValueError(f"cannot read PromQL at {pos}: {expr[pos : pos + 30]!r} in {expr!r}")
        kind = m.lastgroup or ""
        if kind != "ws":
            out.append((kind, m.group()))
        pos = m.end()
    return out


def _matchers(body: str) -> tuple[tuple[str, str, str], ...]:
    out = []
    pos = 0
    body = body.strip()
    while pos < len(body):
        m = _MATCHER.match(body, pos)
        if m is None:
            raise ValueError(f"cannot read label matchers {body!r}")
        out.append((m.group(1), m.group(2), m.group(3)[1:-1].replace('\\"', '"').replace("\\\\", "\\")))
        pos = m.end()
    return tuple(out)


def selectors(expr: str) -> list[Selector]:
    """Every vector selector of ``expr`` (metric names with their matchers), in order."""
    toks = _tokens(expr)
    out: list[Selector] = []
    i = 0
    while i < len(toks):
        kind, text = toks[i]
        nxt = toks[i + 1] if i + 1 < len(toks) else ("", "")
        if kind == "ident" and text.lower() in _LABEL_LISTS and nxt[0] == "lparen":
            i = _skip_group(toks, i + 1, "lparen", "rparen")
            continue
        if kind == "lbracket":  # a range or subquery: durations, no selectors
            i = _skip_group(toks, i, "lbracket", "rbracket")
            continue
        if kind == "ident" and nxt[0] == "lparen":  # a function or an aggregation
            i += 1
            continue
        if kind == "ident" and nxt[0] == "ident" and nxt[1].lower() in ("by", "without"):  # sum by (...) (...)
            i += 1
            continue
        if kind == "ident" and text.lower() not in _KEYWORDS:
            if i > 0 and toks[i - 1] == ("ident", "offset"):
                i += 1
                continue
            if nxt[0] == "lbrace":
                end = _skip_group(toks, i + 1, "lbrace", "rbrace")
                body = expr_between(toks, i + 2, end - 1)
                out.append(Selector(text, _matchers(body)))
                i = end
            else:
                out.append(Selector(text, ()))
                i += 1
            continue
        if kind == "lbrace":
            raise ValueError(f"a selector without a metric name in {expr!r}: name every metric")
        i += 1
    return out


def expr_between(toks: list[tuple[str, str]], start: int, end: int) -> str:
    """The text of tokens ``start`` .. ``end - 1`` joined (strings keep their quotes)."""
    return " ".join(t for _, t in toks[start:end])


def _skip_group(toks: list[tuple[str, str]], i: int, open_kind: str, close_kind: str) -> int:
    """Index after the group opening at ``i``."""
    depth = 0
    while i < len(toks):
        if toks[i][0] == open_kind:
            depth += 1
        elif toks[i][0] == close_kind:
            depth -= 1
            if depth == 0:
                return i + 1
        i += 1
    raise ValueError("unbalanced brackets")


def substitute(expr: str, values: dict[str, str] | None = None, keep: tuple[str, ...] = ()) -> str:
    """Grafana variables replaced by concrete values (longest names first), except those in ``keep``."""
    vals = {k: v for k, v in (values or GRAFANA_VARS).items() if k not in keep}
    for k in sorted(vals, key=len, reverse=True):
        expr = expr.replace(k, vals[k])
    rest = expr
    for k in keep:
        rest = rest.replace(k, "")
    if "$" in rest:
        raise ValueError(f"unknown Grafana variable in {expr!r}")
    return expr


LABEL_VALUES = re.compile(r"^label_values\((?:(?P<sel>.+),\s*)?(?P<label>[A-Za-z_][A-Za-z0-9_]*)\)$")


def load_dashboard() -> dict[str, Any]:
    data: dict[str, Any] = json.loads(DASHBOARD.read_text(encoding="utf-8"))
    return data


def all_panels(d: dict[str, Any]) -> list[dict[str, Any]]:
    out = []
    for p in d["panels"]:
        out.append(p)
        out.extend(p.get("panels", []))  # panels of collapsed rows
    return out


def dashboard_queries() -> list[tuple[str, str]]:
    """(where, PromQL) of every panel target and every query variable (its selector), variables in place."""
    d = load_dashboard()
    out = [(f"panel {p['title']!r}", t["expr"]) for p in all_panels(d) for t in p.get("targets", [])]
    for v in d["templating"]["list"]:
        if v["type"] == "query":
            m = LABEL_VALUES.match(v["query"]["query"])
            assert m is not None and m.group("sel"), f"variable {v['name']}: label_values(selector, label) expected"
            out.append((f"variable {v['name']}", m.group("sel")))
    return out
