"""Camera-side ONVIF events (MotionAlarm, GlobalSceneChange tamper) as hub events.

One bridge per camera that has an ONVIF device service: it connects (retrying with back-off
while the camera is unreachable), subscribes by PullPoint (the adapter renews, and resubscribes
after a reboot) and hands each state change to the camera's pipeline, which records it like
its own rule events: clip, snapshot, ticket.
"""

from __future__ import annotations

import asyncio
import logging
import urllib.parse
from collections.abc import Awaitable, Callable

from adapters.onvif.client import OnvifCameraClient
from adapters.onvif.errors import OnvifError
from adapters.onvif.events import PullPointSubscriber
from adapters.onvif.models import CameraEvent
from hub.aio import backoff_delay, cancel_and_wait
from hub.config.camera import CameraConfig

log = logging.getLogger(__name__)

OnCameraEvent = Callable[[CameraEvent], Awaitable[None]]


def onvif_endpoint(url: str) -> tuple[str, int]:
    parts = urllib.parse.urlsplit(url)
    assert parts.hostname is not None  # CameraConfig checked it
    return parts.hostname, parts.port or (443 if parts.scheme == "https" else 80)


class OnvifEventBridge:
    def __init__(
        self,
        camera: CameraConfig,
        on_event: OnCameraEvent,
        *,
        retry_initial_s: float = 1.0,
        retry_max_s: float = 60.0,
    ) -> None:
        if camera.onvif_url is None:
            raise ValueError(f"camera {camera.id!r} has no onvif_url")
        self.camera = camera
        self.on_event = on_event
        self.retry_initial_s = retry_initial_s
        self.retry_max_s = retry_max_s
        self.subscriber: PullPointSubscriber | None = None
        self.last_error = ""
        self._task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name=f"{self.camera.id}-onvif-events")

    async def stop(self) -> None:
        await cancel_and_wait(self._task)
        self._task = None

    def _client(self) -> OnvifCameraClient:
        host, port = onvif_endpoint(str(self.camera.onvif_url))
        password = self.camera.password.get_secret_value() if self.camera.password else ""
        return OnvifCameraClient(host, port, self.camera.username or "", password, name=self.camera.id)

    async def _run(self) -> None:
        failures = 0
        while True:
            client = self._client()
            try:
                await client.connect()
            except OnvifError as err:
                if str(err) != self.last_error:
                    log.warning("%s: ONVIF events unavailable for now: %s", self.camera.id, err)
                self.last_error = str(err)
                await client.close()
                failures += 1
                await asyncio.sleep(
                    backoff_delay(failures, initial_s=self.retry_initial_s, max_s=self.retry_max_s)
                )
                continue
            try:
                if client.capabilities is None or not client.capabilities.events:
                    log.info("%s: the camera offers no ONVIF events", self.camera.id)
                    return
                self.last_error = ""
                subscriber = PullPointSubscriber(
                    client,
                    on_event=self.on_event,
                    retry_initial_s=self.retry_initial_s,
                    retry_max_s=self.retry_max_s,
                )
                self.subscriber = subscriber
                await subscriber.start()
                try:
                    await asyncio.Event().wait()  # the subscriber resubscribes by itself
                finally:
                    await subscriber.stop()
            finally:
                await client.close()
