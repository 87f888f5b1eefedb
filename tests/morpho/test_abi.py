"""The inline call and event signatures of monitor.protocols.morpho_blue equal the compiled contracts' ABIs."""

from __future__ import annotations

from monitor.chain.abi import Abi, AbiFunction
from monitor.devnet.artifacts import own_artifact
from monitor.devnet.morpho_compile import morpho_artifact
from monitor.protocols.morpho_blue import events, reads


def _same(abi: Abi, fn: AbiFunction) -> None:
    ref = abi.fn(fn.name)
    assert (ref.inputs, ref.outputs) == (fn.inputs, fn.outputs), fn.name


def test_morpho_reads_equal_the_compiled_abi() -> None:
    morpho = morpho_artifact().abi
    for fn in (reads.POSITION, reads.MARKET, reads.ID_TO_MARKET_PARAMS):
        _same(morpho, fn)
    _same(own_artifact("MorphoOracle").abi, reads.ORACLE_PRICE)
    _same(own_artifact("MorphoIrm").abi, reads.BORROW_RATE_VIEW)
    _same(own_artifact("MorphoLens").abi, reads.LENS_POSITIONS)


def test_morpho_event_topics_equal_the_compiled_abi() -> None:
    morpho = morpho_artifact().abi
    every = (
        events.CREATE_MARKET,
        events.SUPPLY,
        events.WITHDRAW,
        events.BORROW,
        events.REPAY,
        events.SUPPLY_COLLATERAL,
        events.WITHDRAW_COLLATERAL,
        events.LIQUIDATE,
        events.ACCRUE_INTEREST,
    )
    for ev in every:
        ref = morpho.event(ev.name)
        assert ref.topic0 == ev.topic0, ev.name
        assert [ix for _, _, ix in ref.fields] == [ix for _, _, ix in ev.fields], ev.name
