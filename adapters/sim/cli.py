"""``hub sim``: run simulated cameras until SIGINT/SIGTERM, printing how to reach each one.

stdout carries one JSON object per camera and nothing else (logs go to stderr), flushed as soon
as every camera is up, so a test or a script can start ``hub sim`` and read its cameras.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
import sys
import tempfile
from pathlib import Path

from adapters.sim.camera import CameraSimulator

logger = logging.getLogger(__name__)

EXIT_USAGE = 2


async def run(simulator: CameraSimulator) -> None:
    """Start, print the JSON lines, wait for SIGINT/SIGTERM, stop."""
    loop = asyncio.get_running_loop()
    stopping = asyncio.Event()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stopping.set)
    try:
        await simulator.start()
        try:
            for line in simulator.as_json_lines():
                sys.stdout.write(line + "\n")
            sys.stdout.flush()
            await stopping.wait()
            logger.info("sim: stopping")
        finally:
            await simulator.stop()
    finally:
        for signum in (signal.SIGINT, signal.SIGTERM):
            loop.remove_signal_handler(signum)


def main(
    *,
    cameras: int,
    sources: list[Path],
    host: str,
    rtsp_port: int,
    onvif_port_base: int,
    username: str,
    password: str,
    faults: str,
    discovery: bool,
    discovery_port: int,
    multicast: bool,
    work_dir: Path | None,
) -> int:
    """The exit status: 0 after a clean stop, 2 for bad options (the message on stderr)."""
    with contextlib.ExitStack() as stack:
        if work_dir is None:
            work_dir = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="hub-sim-")))
        try:
            simulator = CameraSimulator(
                cameras=cameras,
                sources=sources or None,
                host=host,
                rtsp_port=rtsp_port,
                onvif_port_base=onvif_port_base,
                username=username,
                password=password,
                faults=faults,
                discovery=discovery_port if discovery else False,
                discovery_multicast=multicast,
                work_dir=work_dir,
            )
        except ValueError as err:
            sys.stderr.write(f"error: {err}\n")
            return EXIT_USAGE
        missing = [str(source) for source in sources if not source.is_file()]
        if missing:
            sys.stderr.write(f"error: no such source file: {', '.join(missing)}\n")
            return EXIT_USAGE
        asyncio.run(run(simulator))
    return 0
