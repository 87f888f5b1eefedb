"""The allocator settings: blocks of a projection round's size, freed, are reused instead of mapped and faulted
in again (counted in minor page faults, in a fresh process each)."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

PROGRAM = """
import json, resource, sys
import numpy as np
from monitor.allocator import keep_freed_memory
applied = keep_freed_memory() if sys.argv[1] == "tuned" else False
faults = []
for _ in range(6):
    before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
    # a round's temporaries: several blocks alive at once, then all freed
    blocks = [np.ones(2_000_000) for _ in range(3)]  # 16 MB each, written through (48 MB: below the threshold)
    faults.append(resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before)
    del blocks
print(json.dumps({"applied": applied, "faults": faults[2:]}))
"""


def run(mode: str, env: dict[str, str] | None = None) -> dict[str, object]:
    out = subprocess.run([sys.executable, "-c", PROGRAM, mode], capture_output=True, text=True, check=True,
                         env={**os.environ, **(env or {})})  # fmt: skip
    answer: dict[str, object] = json.loads(out.stdout)
    return answer


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="the thresholds are glibc's (Linux)")
def test_freed_projection_sized_blocks_are_reused_not_faulted_in_again() -> None:
    default, tuned = run("default"), run("tuned")
    assert tuned["applied"] is True
    pages = 3 * 2_000_000 * 8 // 4096  # 11,718 pages of 4 KiB per round
    # by default part of what is freed goes back to the kernel each round (the heap's top trimmed) and the
    # next round faults it in again (about 600 of these 11,718 pages here)
    assert all(f >= pages // 50 for f in default["faults"])  # type: ignore[attr-defined]
    # tuned, the heap keeps it and the next round reuses the pages
    assert all(f <= pages // 300 for f in tuned["faults"])  # type: ignore[attr-defined]


def test_the_environments_allocator_settings_are_left_alone() -> None:
    assert run("tuned", {"MALLOC_MMAP_THRESHOLD_": "131072"})["applied"] is False
