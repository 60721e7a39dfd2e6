"""Run a command or a Python snippet inside a private network namespace (``unshare -n``).

Multicast tests must never touch a real interface: inside the namespace only ``lo`` exists, and
it is brought up with multicast on and a 224.0.0.0/4 route, so WS-Discovery group traffic stays
in the namespace. As root ``unshare -n`` is enough; otherwise ``unshare -rn`` maps us to root in
a new user namespace. When ``unshare`` or ``ip`` (util-linux, iproute2) is missing or not
permitted, :func:`require_netns` skips the test, or fails it on CI (``CI=true``).
"""

from __future__ import annotations

import functools
import os
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
SETUP = "ip link set lo up && ip link set lo multicast on && ip route add 224.0.0.0/4 dev lo"


def skip_or_fail(reason: str) -> None:
    """Skip: a tool is missing here. On CI the tests must run, so fail instead."""
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(f"{reason} (CI=true: these tests must run)", pytrace=False)
    pytest.skip(reason)


def _unshare() -> list[str]:
    return ["unshare", "-n"] if os.geteuid() == 0 else ["unshare", "-rn"]


@functools.cache
def netns_problem() -> str | None:
    """Why a private network namespace cannot be made here, or None when it can."""
    for tool, package in (("unshare", "util-linux"), ("ip", "iproute2")):
        if shutil.which(tool) is None:
            return f"{tool} is not installed (apt-get install -y {package})"
    try:
        done = subprocess.run(
            [*_unshare(), "sh", "-c", SETUP], capture_output=True, text=True, timeout=10, check=False
        )
    except (OSError, subprocess.TimeoutExpired) as err:
        return f"unshare failed: {err}"
    if done.returncode != 0:
        return f"cannot make a network namespace: {done.stderr.strip() or done.returncode}"
    return None


def require_netns() -> None:
    problem = netns_problem()
    if problem is not None:
        skip_or_fail(problem)


def require_tool(tool: str, apt_package: str) -> None:
    if shutil.which(tool) is None:
        skip_or_fail(f"{tool} is not installed (apt-get install -y {apt_package})")


def run_in_netns(command: list[str], *, timeout_s: float = 30.0) -> subprocess.CompletedProcess[str]:
    """Run ``command`` in a fresh namespace whose ``lo`` carries multicast; capture its output."""
    script = f"{SETUP} && exec {shlex.join(command)}"
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    return subprocess.run(
        [*_unshare(), "sh", "-c", script],
        capture_output=True,
        text=True,
        timeout=timeout_s,
        cwd=REPO,
        env=env,
        check=False,
    )


def run_python_in_netns(code: str, *, timeout_s: float = 30.0) -> subprocess.CompletedProcess[str]:
    """Run a Python snippet (this interpreter, the repository importable) in a private namespace."""
    return run_in_netns([sys.executable, "-c", code], timeout_s=timeout_s)
