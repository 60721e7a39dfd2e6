"""`hub demo`, the README's first command, end to end in a subprocess: it serves the console and
the API, records events from its simulated cameras, tickets reach its grid receiver, and it stops
by itself in order."""

from __future__ import annotations

import re
import socket
import subprocess
import sys
from pathlib import Path

from adapters.sim.synthetic import SceneObject, write_synthetic_scene


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_demo_records_events_and_delivers_tickets(tmp_path: Path) -> None:
    scene = tmp_path / "scene.mp4"
    write_synthetic_scene(
        scene,
        width=320,
        height=180,
        seconds=8.0,
        gop_seconds=1.0,
        objects=(SceneObject(enter=3.0, leave=5.0),),
    )
    port = _free_port()
    hub = Path(sys.executable).parent / "hub"
    command = [str(hub), "demo", "--cameras", "1", "--port", str(port), "--seconds", "30"]
    done = subprocess.run(
        [*command, "--source", str(scene), "--data-dir", str(tmp_path / "demo")],
        capture_output=True,
        text=True,
        timeout=90,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    assert f"console     http://127.0.0.1:{port}/" in done.stdout
    assert f"API docs    http://127.0.0.1:{port}/api/docs" in done.stdout
    received = re.search(r"the grid receiver got (\d+) ticket\(s\)", done.stdout)
    assert received is not None, done.stdout[-2000:]
    assert int(received.group(1)) >= 1
    assert "Traceback" not in done.stderr
    clips = list((tmp_path / "demo" / "objects" / "clips").rglob("*.mp4"))
    assert clips, "no clip reached the local object store"
