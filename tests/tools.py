"""External tools the tests run (mosquitto, promtool, ...): found, or the test fails naming the Debian package.

One policy for every test that needs a tool: a missing tool is a failure with the same message, never a skip.
`scripts/preflight` (run by `make setup`) checks the same tools up front and installs them as root with apt.
"""

from __future__ import annotations

import shutil

import pytest

# tool -> the Debian package that provides it (the same table as scripts/preflight)
PACKAGES = {
    "npm": "npm",
    "mosquitto": "mosquitto",
    "mosquitto_passwd": "mosquitto",
    "openssl": "openssl",
    "promtool": "prometheus",
    "prometheus": "prometheus",
    "amtool": "prometheus-alertmanager",
    "prometheus-alertmanager": "prometheus-alertmanager",
    "alertmanager": "prometheus-alertmanager",
    "chromium": "chromium",
}

# Debian installs daemons such as mosquitto in sbin, which a user's PATH may lack.
SBIN_PATH = "/usr/local/sbin:/usr/sbin:/sbin"


def find_tool(*names: str) -> str | None:
    """Path of the first of ``names`` on PATH or in the sbin directories; None when none is installed."""
    for name in names:
        found = shutil.which(name) or shutil.which(name, path=SBIN_PATH)
        if found:
            return found
    return None


def missing_tool_message(*names: str) -> str:
    """What a test says when none of ``names`` is installed."""
    package = PACKAGES.get(names[0], names[0])
    return (
        f"{' / '.join(names)} not found: install it with `apt-get install -y {package}` "
        "(`make setup` does, run as root; scripts/preflight lists every missing tool)"
    )


def tool(*names: str) -> str:
    """Path of the first of ``names`` that is installed; the test fails naming the Debian package otherwise."""
    found = find_tool(*names)
    if found is None:
        pytest.fail(missing_tool_message(*names), pytrace=False)
    return found
