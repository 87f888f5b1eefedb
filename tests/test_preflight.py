"""scripts/preflight, the first step of `make setup`: with tools missing it stops at once with one line naming
every missing tool and the apt-get command that installs them, and the table it checks is the tests' table."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.tools import PACKAGES, find_tool, tool

REPO = Path(__file__).resolve().parents[1]
PREFLIGHT = REPO / "scripts" / "preflight"
BASH = shutil.which("bash") or "/bin/bash"
LINE = re.compile(r"^preflight: missing (?P<missing>.+); install with: apt-get install -y (?P<packages>[^;]+)$")


def _preflight(path: Path, **env: str) -> subprocess.CompletedProcess[str]:
    """Run the script with PATH = one directory and no sbin fallback; apt is not reachable on that PATH."""
    environ = {"PATH": str(path), "CASCADE_PREFLIGHT_SBIN_DIRS": "", "HOME": str(path), **env}
    return subprocess.run([BASH, str(PREFLIGHT)], env=environ, capture_output=True, text=True, timeout=60,
                          check=False)  # fmt: skip


def _missing_and_packages(stderr: str) -> tuple[set[str], set[str]]:
    lines = stderr.splitlines()
    assert len(lines) == 1, f"one line expected, got {lines}"
    m = LINE.match(lines[0])
    assert m, lines[0]
    missing = {re.sub(r" \(.*\)$", "", item) for item in m["missing"].split(", ")}
    return missing, set(m["packages"].split())


def test_nothing_installed_names_every_tool_in_one_line(tmp_path: Path) -> None:
    for env in ({"CASCADE_PREFLIGHT_NO_INSTALL": "1"}, {}):  # apt disabled, and apt-get not on PATH
        res = _preflight(tmp_path, **env)
        assert res.returncode == 1 and res.stdout == ""
        missing, packages = _missing_and_packages(res.stderr)
        every_tool = (set(PACKAGES) - {"alertmanager"}) | {"python3", "node"}  # alertmanager: Debian's is named
        assert missing == every_tool
        assert packages == set(PACKAGES.values()) | {"python3", "python3-venv", "nodejs"}


def test_only_what_is_missing_is_named(tmp_path: Path) -> None:
    present = ["mosquitto", "promtool", "chromium"]
    for name in present:
        found = find_tool(name)
        assert found, f"{name} must be installed on the test machine (make setup installs it)"
        (tmp_path / name).symlink_to(found)
    (tmp_path / "python3").symlink_to(os.path.realpath(sys.executable))
    node = shutil.which("node")
    assert node
    (tmp_path / "node").symlink_to(os.path.realpath(node))
    res = _preflight(tmp_path, CASCADE_PREFLIGHT_NO_INSTALL="1")
    assert res.returncode == 1
    missing, packages = _missing_and_packages(res.stderr)
    assert missing == set(PACKAGES) - {"alertmanager", *present}
    assert packages == {"npm", "mosquitto", "openssl", "prometheus", "prometheus-alertmanager"}


def test_this_machine_passes() -> None:
    res = subprocess.run([str(PREFLIGHT)], capture_output=True, text=True, timeout=60, check=False)
    assert (res.returncode, res.stdout, res.stderr) == (0, "", "")


def test_a_test_whose_tool_is_missing_fails_naming_the_package(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("tests.tools.SBIN_PATH", "")
    monkeypatch.setenv("PATH", "")
    with pytest.raises(pytest.fail.Exception, match=r"^amtool not found: install it with `apt-get install -y "
                       r"prometheus-alertmanager`"):  # fmt: skip
        tool("amtool")
