"""The simulated PTZ head: integration over time, clamping, presets, the crop window."""

from __future__ import annotations

import pytest

from adapters.sim.onvif.ptz_state import PtzState


class FakeClock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_continuous_move_integrates_until_stop() -> None:
    clock = FakeClock()
    ptz = PtzState(clock=clock, speed=0.5)
    ptz.continuous_move(1.0, -0.5, 0.2, timeout_s=None)
    clock.now += 1.0
    assert ptz.position() == pytest.approx((0.5, -0.25, 0.1))
    assert ptz.moving() == (True, True)
    ptz.stop(pan_tilt=True, zoom=False)
    assert ptz.moving() == (False, True)
    clock.now += 1.0
    assert ptz.position() == pytest.approx((0.5, -0.25, 0.2))


def test_continuous_move_ends_at_timeout_and_clamps() -> None:
    clock = FakeClock()
    ptz = PtzState(clock=clock, speed=1.0)
    ptz.continuous_move(1.0, 1.0, -1.0, timeout_s=0.5)
    clock.now += 3.0
    assert ptz.position() == pytest.approx((0.5, 0.5, 0.0))
    assert ptz.moving() == (False, False)
    ptz.continuous_move(1.0, 0.0, 0.0, timeout_s=None)
    clock.now += 10.0
    assert ptz.position()[0] == 1.0


def test_absolute_and_relative_moves_clamp_to_the_spaces() -> None:
    ptz = PtzState(clock=FakeClock())
    ptz.absolute_move(5.0, -5.0, 2.0)
    assert ptz.position() == (1.0, -1.0, 1.0)
    ptz.absolute_move(None, 0.0, None)
    assert ptz.position() == (1.0, 0.0, 1.0)
    ptz.relative_move(-0.25, 0.5, -0.5)
    assert ptz.position() == (0.75, 0.5, 0.5)


def test_presets() -> None:
    ptz = PtzState(clock=FakeClock())
    ptz.absolute_move(0.5, 0.5, 0.5)
    token = ptz.set_preset("door")
    ptz.absolute_move(0.0, 0.0, 0.0)
    ptz.goto_preset(token)
    assert ptz.position() == (0.5, 0.5, 0.5)
    ptz.remove_preset(token)
    with pytest.raises(ValueError) as info:
        ptz.goto_preset(token)
    assert str(info.value) == f"no preset {token!r}"


@pytest.mark.parametrize(
    ("pan", "tilt", "zoom", "window"),
    [
        (0.0, 0.0, 0.0, (0, 0, 640, 360)),
        (0.0, 0.0, 1.0, (160, 90, 320, 180)),
        (-1.0, 1.0, 1.0, (0, 0, 320, 180)),
        (1.0, -1.0, 1.0, (320, 180, 320, 180)),
    ],
)
def test_crop_window(pan: float, tilt: float, zoom: float, window: tuple[int, int, int, int]) -> None:
    ptz = PtzState(clock=FakeClock())
    ptz.absolute_move(pan, tilt, zoom)
    assert ptz.crop_window(640, 360) == window


def test_version_and_settled_signal_each_change() -> None:
    clock = FakeClock()
    ptz = PtzState(clock=clock, speed=1.0)
    start = ptz.version
    assert ptz.settled(0.3)
    ptz.absolute_move(0.5, 0.0, 0.5)
    assert ptz.version == start + 1
    assert ptz.settled() and not ptz.settled(0.5)  # at rest since now
    clock.now += 0.5
    assert ptz.settled(0.5)
    ptz.continuous_move(1.0, 0.0, 0.0, timeout_s=0.5)
    clock.now += 0.25
    assert (ptz.version, ptz.settled()) == (start + 2, False)
    clock.now += 1.0  # the move ended 0.75 s ago
    assert ptz.version == start + 3
    assert ptz.settled(0.75) and not ptz.settled(0.8)
    ptz.stop()  # nothing was moving: nothing changes
    ptz.set_preset("door")
    assert ptz.version == start + 3
    ptz.continuous_move(0.0, 0.0, 1.0, timeout_s=None)
    ptz.stop(pan_tilt=True, zoom=False)  # zoom still moves
    assert (ptz.version, ptz.settled()) == (start + 4, False)
    ptz.stop()
    assert (ptz.version, ptz.settled(), ptz.settled(0.1)) == (start + 5, True, False)
