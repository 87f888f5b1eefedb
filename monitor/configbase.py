"""The building blocks every config model shares: the frozen, strict pydantic base and the address type.

Kept apart from :mod:`monitor.config` so that a protocol package can declare its own market model (the config
imports those models to build the union of market entries) without importing the config module back.
"""

from __future__ import annotations

import re
from typing import Annotated

from pydantic import AfterValidator, BaseModel, ConfigDict

_ADDRESS_RE = re.compile(r"^0x[0-9a-fA-F]{40}$")


def check_address(value: str) -> str:
    """``value`` lower-cased when it is a 0x-prefixed 20-byte hex address; ValueError otherwise."""
    if not _ADDRESS_RE.match(value):
        raise ValueError(f"not a 20-byte hex address (0x + 40 hex digits): {value!r}")
    return value.lower()


Address = Annotated[str, AfterValidator(check_address)]
"""A 0x-prefixed 20-byte address, stored lower-case."""


class FrozenModel(BaseModel):
    """Immutable after validation; unknown keys are errors; surrounding whitespace is stripped."""

    model_config = ConfigDict(frozen=True, extra="forbid", str_strip_whitespace=True)
