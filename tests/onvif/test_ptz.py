"""PtzController against the simulated PTZ head: moves change ``device.ptz``, presets round-trip."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

import pytest

from adapters.onvif.client import OnvifCameraClient
from adapters.onvif.errors import OnvifFault, OnvifNotSupported, status_for
from adapters.onvif.models import Preset, PtzPosition
from adapters.onvif.ptz import PtzController
from tests.onvif.conftest import Sim


async def test_continuous_move_then_stop(sim: Sim, client: OnvifCameraClient) -> None:
    ptz = PtzController(client)
    await ptz.continuous(1.0, -0.5, 0.0)
    await asyncio.sleep(0.3)
    assert (await ptz.status()).moving is True
    await ptz.stop()
    pan, tilt, zoom = sim.device.ptz.position()
    assert 0.1 < pan < 0.5 and -0.25 < tilt < -0.05 and zoom == 0.0
    assert sim.device.ptz.moving() == (False, False)
    status = await ptz.status()
    assert status.pan == pytest.approx(pan, abs=1e-5) and status.tilt == pytest.approx(tilt, abs=1e-5)
    assert (status.zoom, status.moving) == (0.0, False)
    assert status.utc_time is not None


async def test_continuous_move_with_a_timeout_stops_by_itself(sim: Sim, client: OnvifCameraClient) -> None:
    await PtzController(client).continuous(0.0, 0.0, 1.0, timeout_s=0.2)
    await asyncio.sleep(0.4)
    assert sim.device.ptz.moving() == (False, False)
    assert sim.device.ptz.position()[2] == pytest.approx(0.1, abs=0.03)  # 0.2 s at 0.5 units/s


async def test_absolute_and_relative_moves(sim: Sim, client: OnvifCameraClient) -> None:
    ptz = PtzController(client, profile_token="main")
    await ptz.absolute(-0.5, 0.25, 1.0)
    assert sim.device.ptz.position() == (-0.5, 0.25, 1.0)
    await ptz.relative(0.25, -0.25, -0.5)
    assert sim.device.ptz.position() == (-0.25, 0.0, 0.5)


async def test_presets_set_goto_remove(sim: Sim, client: OnvifCameraClient) -> None:
    ptz = PtzController(client)
    await ptz.absolute(0.5, -0.5, 0.25)
    token = await ptz.set_preset("door")
    assert await ptz.presets() == [Preset(token, "door", PtzPosition(0.5, -0.5, 0.25))]
    await ptz.absolute(0.0, 0.0, 0.0)
    await ptz.goto_preset(token)
    assert sim.device.ptz.position() == (0.5, -0.5, 0.25)
    await ptz.remove_preset(token)
    assert await ptz.presets() == []
    assert sim.device.ptz.presets == {}
    with pytest.raises(OnvifFault) as info:
        await ptz.goto_preset(token)
    assert info.value.subcodes == ("InvalidArgVal", "NoToken")
    assert str(info.value) == f"gate: GotoPreset: SOAP fault InvalidArgVal/NoToken: no preset {token!r}"


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda p: p.continuous(1.5, 0, 0), "PTZ pan 1.5 is outside [-1, 1]"),
        (lambda p: p.continuous(0, -2, 0), "PTZ tilt -2 is outside [-1, 1]"),
        (lambda p: p.continuous(0, 0, 0, timeout_s=0), "PTZ timeout 0 s must be positive"),
        (lambda p: p.relative(0, 0, -1.5), "PTZ zoom -1.5 is outside [-1, 1]"),
        (lambda p: p.absolute(0, 0, -0.1), "PTZ zoom -0.1 is outside [0, 1]"),
        (lambda p: p.absolute(float("nan"), 0, 0), "PTZ pan nan is outside [-1, 1]"),
        (lambda p: p.set_preset(" "), "PTZ preset name must not be empty"),
    ],
)
async def test_values_are_checked_before_sending(
    sim: Sim, client: OnvifCameraClient, call: Callable[[PtzController], Awaitable[object]], message: str
) -> None:
    with pytest.raises(ValueError) as info:
        await call(PtzController(client))
    assert str(info.value) == message
    assert sim.device.ptz.position() == (0.0, 0.0, 0.0)


async def test_camera_without_ptz(fixed_sim: Sim) -> None:
    client = fixed_sim.client()
    await client.connect()
    try:
        with pytest.raises(OnvifNotSupported) as info:
            await PtzController(client).continuous(0.5, 0.0)
    finally:
        await client.close()
    assert str(info.value) == "gate: the camera has no ptz service"
    assert status_for(info.value) == "degraded"
