"""``hub sim`` as a subprocess: JSON lines on stdout, a clean exit on SIGINT/SIGTERM, exit 2 on bad faults."""

from __future__ import annotations

import json
import queue
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

import pytest

from adapters.sim.faults import FaultKind

HUB = Path(sys.executable).parent / "hub"
FIELDS = {"onvif_url", "rtsp_main", "rtsp_sub", "username", "password"}


@pytest.fixture(scope="module")
def work_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("hub-sim")


def _read_lines(proc: subprocess.Popen[str], count: int, timeout_s: float) -> list[dict[str, Any]]:
    """``count`` JSON lines from stdout, read by a thread (a pipe cannot be waited on with a timeout)."""
    assert proc.stdout is not None
    stdout = proc.stdout
    lines: queue.Queue[str] = queue.Queue()

    def read() -> None:
        for _ in range(count):
            lines.put(stdout.readline())

    threading.Thread(target=read, daemon=True).start()
    found: list[dict[str, Any]] = []
    deadline = time.monotonic() + timeout_s
    while len(found) < count:
        try:
            line = lines.get(timeout=max(deadline - time.monotonic(), 0.01))
        except queue.Empty:
            raise AssertionError(f"hub sim printed {len(found)} of {count} lines in {timeout_s} s") from None
        if not line:
            raise AssertionError(f"hub sim exited early with {proc.wait()}")
        found.append(json.loads(line))
    return found


@pytest.mark.parametrize("stop_signal", [signal.SIGINT, signal.SIGTERM])
def test_hub_sim_prints_a_json_line_per_camera_and_stops_on_a_signal(
    work_dir: Path, stop_signal: signal.Signals
) -> None:
    command = [str(HUB), "sim", "--cameras", "2", "--work-dir", str(work_dir), "--user", "viewer"]
    with subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) as proc:
        try:
            cameras = _read_lines(proc, 2, timeout_s=30)
            proc.send_signal(stop_signal)
            status = proc.wait(timeout=10)
        finally:
            if proc.poll() is None:
                proc.kill()
        assert proc.stdout is not None and proc.stdout.read() == ""

    assert status == 0
    assert [set(camera) >= FIELDS for camera in cameras] == [True, True]
    paths = [camera["rtsp_main"].rsplit("/", 2)[1:] for camera in cameras]
    assert paths == [["cam1", "main"], ["cam2", "main"]]
    assert [camera["rtsp_sub"].endswith("/sub") for camera in cameras] == [True, True]
    assert {camera["username"] for camera in cameras} == {"viewer"}
    assert {camera["password"] for camera in cameras} == {"admin"}
    assert len({camera["onvif_url"] for camera in cameras}) == 2


def test_hub_sim_refuses_bad_faults_with_exit_2(tmp_path: Path) -> None:
    done = subprocess.run(
        [str(HUB), "sim", "--faults", "drop@10,explode", "--work-dir", str(tmp_path)],
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )

    assert done.returncode == 2
    assert done.stdout == ""
    known = ", ".join(kind.value for kind in FaultKind)
    assert done.stderr.strip().splitlines()[-1] == f"error: unknown fault 'explode' (known: {known})"
