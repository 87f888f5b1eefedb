"""Fuzzing the config loader and the command line: any input is a valid config or a ConfigError, and any
argv ends in an exit code, never a traceback."""

from __future__ import annotations

import contextlib
import io
import tempfile
from pathlib import Path
from typing import Any

import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from monitor.cli import main
from monitor.config import MonitorConfig, load_config, parse_config
from monitor.errors import ConfigError
from tests.config.test_config import GOOD

scalars = st.one_of(
    st.none(), st.booleans(), st.integers(), st.floats(allow_nan=True), st.text(max_size=60),
    st.just("0x" + "ab" * 20), st.just("http://127.0.0.1:1"), st.just("mqtt://h:1"),
)  # fmt: skip
values = st.recursive(
    scalars,
    lambda inner: st.one_of(st.lists(inner, max_size=4), st.dictionaries(st.text(max_size=12), inner, max_size=4)),
    max_leaves=20,
)


def _paths(node: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    out = [prefix]
    if isinstance(node, dict):
        for k, v in node.items():
            out += _paths(v, (*prefix, k))
    elif isinstance(node, list):
        for i, v in enumerate(node):
            out += _paths(v, (*prefix, i))
    return out


def _mutate(path: tuple[Any, ...], value: Any) -> Any:
    data = yaml.safe_load(yaml.safe_dump(GOOD))
    if not path:
        return value
    node = data
    for key in path[:-1]:
        node = node[key]
    node[path[-1]] = value
    return data


@settings(max_examples=300, deadline=None)
@given(st.sampled_from(_paths(GOOD)), values)
def test_a_mutated_config_is_valid_or_a_config_error(path: tuple[Any, ...], value: Any) -> None:
    try:
        cfg = parse_config(_mutate(path, value), environ={})
    except ConfigError as exc:
        assert str(exc).startswith("invalid config")
    else:
        assert isinstance(cfg, MonitorConfig)


@settings(max_examples=200, deadline=None)
@given(values)
def test_any_yaml_document_is_valid_or_a_config_error(doc: Any) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "c.yaml"
        path.write_text(yaml.safe_dump(doc))
        with contextlib.suppress(ConfigError):
            load_config(path, environ={})


@settings(max_examples=100, deadline=None)
@given(st.binary(max_size=300))
def test_arbitrary_bytes_are_a_config_error(raw: bytes) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "c.yaml"
        path.write_bytes(raw)
        with contextlib.suppress(ConfigError):
            load_config(path, environ={})


WORDS = ["check-config", "snapshot", "quote", "depth", "--config", "--json", "--block", "--pool", "--token-in",
         "--amount-in", "-v", "--help", "x.yaml", "-1", "0x12", "99999999999999999999", "", "--", "devnet", "crash",
         "--asset", "--drop", "nan", "summary", "--devnet", "missing.json"]  # fmt: skip


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.one_of(st.sampled_from(WORDS), st.text(max_size=8)), max_size=6))
def test_any_argv_ends_in_an_exit_code(argv: list[str]) -> None:
    out, err = io.StringIO(), io.StringIO()
    with (
        tempfile.TemporaryDirectory() as tmp,
        contextlib.chdir(tmp),
        contextlib.redirect_stdout(out),
        contextlib.redirect_stderr(err),
    ):
        try:
            code = main(argv)
        except SystemExit as exc:  # argparse: --help (0) or a usage error (2)
            code = exc.code if isinstance(exc.code, int) else 2
    assert code in (0, 2), (argv, code, err.getvalue()[-500:])
    assert "Traceback" not in err.getvalue()
