"""A simulated camera server in its own process, so its CPU is not counted against the client."""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path

from adapters.sim.media import load_media
from adapters.sim.rtsp.server import RtspServer


async def _main(path: Path, streams: int) -> None:
    media = await asyncio.to_thread(load_media, path)
    server = RtspServer()
    for i in range(streams):
        server.add_stream(f"cam{i}", media)
    await server.start()
    print(server.port, flush=True)
    await asyncio.Event().wait()


if __name__ == "__main__":
    asyncio.run(_main(Path(sys.argv[1]), int(sys.argv[2])))
