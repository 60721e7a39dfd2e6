"""``hub demo``: simulated cameras, the hub on embedded defaults, a stand-in grid receiver."""

from __future__ import annotations

import asyncio
import logging
import secrets
from pathlib import Path

from adapters.sim.media import load_media
from adapters.sim.rtsp.server import RtspServer
from adapters.sim.samples import find_sample
from adapters.sim.synthetic import write_synthetic_scene
from hub.config.api import ApiSettings
from hub.config.camera import CameraConfig
from hub.config.hub import HubSettings
from hub.config.webhook import WebhookSettings
from hub.runtime import HubRuntime
from hub.serve import serve
from hub.tickets.receiver import GridReceiver

log = logging.getLogger(__name__)


async def demo_sources(data_dir: Path, source: Path | None) -> list[Path]:
    """What the cameras play, in turn: the given file; else the sample video (busy: people walk
    through it all the time) and a synthetic scene (quiet, then one object, so events end)."""
    if source is not None:
        return [source]
    synthetic = data_dir / "synthetic-scene.mp4"
    if not await asyncio.to_thread(synthetic.is_file):
        log.info("generating a synthetic scene at %s", synthetic)
        await asyncio.to_thread(write_synthetic_scene, synthetic, seconds=20.0)
    sample = await asyncio.to_thread(find_sample)
    return [synthetic] if sample is None else [sample, synthetic]


async def run_demo(
    *, cameras: int, port: int, data_dir: Path, source: Path | None, seconds: float | None
) -> None:
    await asyncio.to_thread(data_dir.mkdir, parents=True, exist_ok=True)
    videos = await demo_sources(data_dir, source)
    media = [await asyncio.to_thread(load_media, video) for video in videos]
    rtsp = RtspServer()
    for i in range(1, cameras + 1):
        rtsp.add_stream(f"cam{i}/main", media[(i - 1) % len(media)])
    await rtsp.start()
    webhook_secret = secrets.token_hex(16)
    receiver = GridReceiver(webhook_secret.encode())
    await receiver.start()
    try:
        settings = HubSettings(
            data_dir=data_dir,
            api=ApiSettings(port=port),
            webhook=WebhookSettings(url=receiver.url, secret=webhook_secret),
            cameras=[
                CameraConfig(id=f"cam-{i}", name=f"Simulated camera {i}", url=rtsp.url(f"cam{i}/main"))
                for i in range(1, cameras + 1)
            ],
        )
        shown_dir = await asyncio.to_thread(data_dir.resolve)
        started = asyncio.Event()
        runtime = HubRuntime(settings)
        base = f"http://127.0.0.1:{port}"

        async def announce() -> None:
            await started.wait()
            print(
                f"\nSharp Eyes Hub demo is running ({cameras} simulated camera(s) playing "
                f"{', '.join(v.name for v in videos)})\n"
                f"  console     {base}/\n"
                f"  API docs    {base}/api/docs\n"
                f"  events      {base}/api/v1/events\n"
                f"  status      {base}/api/v1/status\n"
                f"  grid tickets received: {receiver.url}\n"
                f"  data        {shown_dir}\n"
                "Press Ctrl-C to stop.\n",
                flush=True,
            )

        announcer = asyncio.create_task(announce(), name="demo-announce")
        try:
            await serve(runtime, on_started=started, stop_after_s=seconds)
        finally:
            announcer.cancel()
            await asyncio.gather(announcer, return_exceptions=True)
        print(f"demo stopped; the grid receiver got {len(receiver.tickets)} ticket(s)", flush=True)
    finally:
        await receiver.stop()
        await rtsp.stop()
