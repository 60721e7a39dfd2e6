"""Simulated cameras in a process of their own, so that their CPU is not counted as the client's.

``python -m bench.rtsp_serve MEDIA COUNT [--sub SUB_MEDIA] [--stagger S]`` serves ``cam{i}``
(or, with a sub-stream, ``cam{i}/main`` and ``cam{i}/sub``) for ``i`` in ``range(COUNT)``, each
camera's clip starting ``S`` seconds after the one before, and prints its port. Then it answers
commands on stdin, one line each:

* ``counts``: a JSON object, per stream path, of the access units sent to the sessions open
  now (past each one's first keyframe), so that clients gone earlier do not count;
* ``pause`` / ``resume``: stop and restart sending on every stream (connections stay open), so
  that a client can be compared with the server once everything sent has arrived.

:func:`served` runs it from a benchmark.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import subprocess
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from adapters.sim.media import ScheduledUnit, load_media
from adapters.sim.rtsp.server import RtspServer
from adapters.sim.rtsp.streams import SimStream

ROOT = Path(__file__).resolve().parent.parent
PAUSE_FAULT = "stall@0:86400"


def _count_sent(stream: SimStream, counts: dict[str, int]) -> None:
    """Count, per session, each unit that reached it past its first keyframe (benchmark
    instrumentation: the simulator keeps no such count). A unit a slow client skipped counts
    too: that is a drop the client's own count shows."""
    send = stream._send

    def counted(scheduled: ScheduledUnit) -> None:
        send(scheduled)
        for session in stream.sessions:
            if session.playing and not session.wait_keyframe and scheduled.index >= session.start_index:
                counts[session.id] = counts.get(session.id, 0) + 1

    stream._send = counted  # type: ignore[method-assign]


def _answer(server: RtspServer, counts: dict[str, int], command: str) -> str:
    if command == "counts":  # per stream: what its open sessions were sent
        sent = {path: sum(counts.get(s.id, 0) for s in st.sessions) for path, st in server.streams.items()}
        return json.dumps(sent)
    if command == "pause":
        for stream in server.streams.values():
            stream.faults.add(PAUSE_FAULT)
        return "paused"
    if command == "resume":
        for stream in server.streams.values():
            stream.faults.clear()
        return "resumed"
    return json.dumps({"error": f"unknown command {command!r}"})


async def _main(path: Path, count: int, sub_path: Path | None, stagger_s: float) -> None:
    media = await asyncio.to_thread(load_media, path)
    sub = await asyncio.to_thread(load_media, sub_path) if sub_path is not None else None
    server = RtspServer()
    counts: dict[str, int] = {}  # per session id

    def add(i: int) -> None:
        streams = [(f"cam{i}", media)] if sub is None else [(f"cam{i}/main", media), (f"cam{i}/sub", sub)]
        for stream_path, stream_media in streams:
            _count_sent(server.add_stream(stream_path, stream_media), counts)

    if stagger_s <= 0:
        for i in range(count):
            add(i)
        await server.start()
    else:  # each camera's clip starts playing stagger_s after the one before
        await server.start()
        for i in range(count):
            add(i)
            if i < count - 1:
                await asyncio.sleep(stagger_s)
    print(server.port, flush=True)
    loop = asyncio.get_running_loop()
    done = asyncio.Event()

    def reply(command: str) -> None:
        print(_answer(server, counts, command), flush=True)

    def read_commands() -> None:  # a thread: stdin is a pipe, and blocking reads are simplest
        for line in sys.stdin:
            loop.call_soon_threadsafe(reply, line.strip())
        loop.call_soon_threadsafe(done.set)  # the benchmark went away

    threading.Thread(target=read_commands, name="commands", daemon=True).start()
    await done.wait()
    await server.stop()


class SimProcess:
    def __init__(self, process: subprocess.Popen[str], port: int) -> None:
        self.process = process
        self.port = port

    @property
    def pid(self) -> int:
        return self.process.pid

    def command(self, line: str) -> str:
        assert self.process.stdin is not None and self.process.stdout is not None
        self.process.stdin.write(line + "\n")
        self.process.stdin.flush()
        return self.process.stdout.readline().strip()

    def counts(self) -> dict[str, int]:
        counts: dict[str, int] = json.loads(self.command("counts"))
        return counts


@contextmanager
def served(
    media: Path, count: int, *, sub: Path | None = None, stagger_s: float = 0.0
) -> Iterator[SimProcess]:
    """A simulator process serving ``count`` cameras; stopped on exit."""
    args = [sys.executable, "-m", "bench.rtsp_serve", str(media), str(count), f"--stagger={stagger_s}"]
    if sub is not None:
        args += ["--sub", str(sub)]
    process = subprocess.Popen(args, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, cwd=ROOT)
    try:
        assert process.stdout is not None
        line = process.stdout.readline()
        if not line.strip().isdigit():
            raise RuntimeError(f"the simulator did not start (exit status {process.poll()})")
        yield SimProcess(process, int(line))
    finally:
        process.terminate()
        try:
            process.wait(10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(prog="python -m bench.rtsp_serve", description=__doc__)
    parser.add_argument("media", type=Path)
    parser.add_argument("count", type=int)
    parser.add_argument("--sub", type=Path, help="a sub-stream for every camera")
    parser.add_argument("--stagger", type=float, default=0.0, help="seconds between cameras' clip starts")
    args = parser.parse_args()
    asyncio.run(_main(args.media, args.count, args.sub, args.stagger))
