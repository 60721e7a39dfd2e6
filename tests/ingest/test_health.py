"""Damped camera status events and uptime, as pure functions of time."""

from __future__ import annotations

import pytest

from hub.db.models import CameraStatus
from hub.ingest.health import HealthEvent, HealthTracker

ONLINE, OFFLINE, CONNECTING = CameraStatus.ONLINE, CameraStatus.OFFLINE, CameraStatus.CONNECTING


def test_a_camera_that_comes_up_raises_no_event() -> None:
    health = HealthTracker(hold_s=30)
    assert health.observe(CONNECTING, "", 0) == []
    assert health.observe(ONLINE, "", 2) == []
    assert health.tick(100) == []


def test_offline_is_raised_only_after_the_hold_and_only_once() -> None:
    health = HealthTracker(hold_s=30)
    health.observe(ONLINE, "", 0)
    health.tick(40)
    assert health.observe(OFFLINE, "connection refused", 50) == []
    assert health.tick(79) == []
    assert health.tick(80) == [HealthEvent("camera_offline", OFFLINE, "connection refused", 50)]
    assert health.tick(200) == []
    # Retries keep failing: still no second event.
    assert health.observe(CONNECTING, "", 210) == []
    assert health.observe(OFFLINE, "connection refused", 211) == []
    assert health.tick(400) == []


def test_flapping_every_few_seconds_raises_nothing() -> None:
    health = HealthTracker(hold_s=30)
    health.observe(ONLINE, "", 0)
    health.tick(40)
    events = []
    for t in range(50, 300, 10):
        events += health.observe(OFFLINE if (t // 10) % 2 else ONLINE, "reset", t)
    assert events == []


def test_back_online_after_an_outage_is_raised_after_the_hold() -> None:
    health = HealthTracker(hold_s=10)
    health.observe(ONLINE, "", 0)
    health.tick(20)
    health.observe(OFFLINE, "stalled", 30)
    assert [e.kind for e in health.tick(41)] == ["camera_offline"]
    health.observe(ONLINE, "", 60)
    assert health.tick(65) == []
    assert health.tick(70) == [HealthEvent("camera_online", ONLINE, "", 60)]


def test_a_camera_that_never_came_up_is_reported_offline() -> None:
    health = HealthTracker(hold_s=5)
    health.observe(CONNECTING, "", 0)
    health.observe(OFFLINE, "no route", 1)
    assert health.tick(6) == [HealthEvent("camera_offline", OFFLINE, "no route", 1)]


def test_uptime_over_the_window() -> None:
    health = HealthTracker(hold_s=0, window_s=100)
    health.observe(ONLINE, "", 0)
    health.observe(OFFLINE, "x", 60)
    health.observe(ONLINE, "", 80)
    assert health.uptime(100) == pytest.approx(0.8)  # 20 s of 100 offline
    assert health.uptime(150) == pytest.approx(0.8)  # window 50..150: still the same 20 s
    assert health.uptime(200) == pytest.approx(1.0)  # window 100..200: the outage has aged out


def test_uptime_before_any_observation_is_zero() -> None:
    assert HealthTracker().uptime(10) == 0.0
