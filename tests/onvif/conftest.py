"""A simulated ONVIF camera (two profiles, PTZ, events) and a connected client for it.

The RTSP URIs are plain strings: nothing here opens a stream.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass

import pytest

from adapters.onvif.client import OnvifCameraClient
from adapters.sim.faults import CameraFaults
from adapters.sim.onvif import DeviceIdentity, OnvifDevice, SimProfile

JPEG = b"\xff\xd8\xff\xe0 onvif test snapshot \xff\xd9"
IDENTITY = DeviceIdentity(
    serial_number="SE-0042",
    hostname="gate",
    manufacturer="SharpEyes",
    model="SimCam-PTZ",
    firmware_version="2.4.1",
    hardware_id="hw-7",
)
SUB = SimProfile("sub", "Sub stream", 640, 360, 5.0, 400, "rtsp://127.0.0.1:8554/gate_sub")
MAIN = SimProfile("main", "Main stream", 1280, 720, 10.0, 2000, "rtsp://127.0.0.1:8554/gate")
USER, PASSWORD = "admin", "s3cret"


@dataclass
class Sim:
    device: OnvifDevice
    faults: CameraFaults
    motion: bool = False

    def client(
        self, password: str = PASSWORD, *, timeout_s: float = 5.0, max_clock_offset_s: float | None = None
    ) -> OnvifCameraClient:
        return OnvifCameraClient(
            "127.0.0.1",
            self.device.port,
            USER,
            password,
            timeout_s=timeout_s,
            max_clock_offset_s=max_clock_offset_s,
            name=self.device.identity.hostname,
        )


async def _start(*, has_ptz: bool) -> Sim:
    faults = CameraFaults()

    async def snapshot() -> bytes:
        return JPEG

    device = OnvifDevice(
        identity=IDENTITY,
        profiles=[SUB, MAIN],  # the sub stream first, so "main" cannot be the first profile by luck
        username=USER,
        password=PASSWORD,
        faults=faults,
        snapshot=snapshot,
        has_ptz=has_ptz,
        motion=lambda: state.motion,
    )
    state = Sim(device, faults)
    await device.start()
    return state


@pytest.fixture
async def sim() -> AsyncIterator[Sim]:
    state = await _start(has_ptz=True)
    yield state
    await state.device.stop()


@pytest.fixture
async def fixed_sim() -> AsyncIterator[Sim]:
    """A camera without PTZ."""
    state = await _start(has_ptz=False)
    yield state
    await state.device.stop()


@pytest.fixture
async def client(sim: Sim) -> AsyncIterator[OnvifCameraClient]:
    connected = sim.client()
    await connected.connect()
    yield connected
    await connected.close()
