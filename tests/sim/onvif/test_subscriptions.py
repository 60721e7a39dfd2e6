"""Pull-point subscriptions: Initialized, Changed on a flip, synchronization points, expiry."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from adapters.sim.onvif.subscriptions import MOTION_TOPIC, EventHub, UnknownSubscription


class World:
    def __init__(self) -> None:
        self.now = datetime(2024, 1, 1, tzinfo=UTC)
        self.motion = False

    def clock(self) -> datetime:
        return self.now

    def properties(self) -> dict[str, bool]:
        return {MOTION_TOPIC: self.motion}


async def test_initialized_then_changed_then_expired() -> None:
    world = World()
    hub = EventHub(name="cam1", clock=world.clock, properties=world.properties, source="vsc0")
    sub = hub.create(timedelta(seconds=10))
    [first] = sub.take(10)
    assert (first.topic, first.operation, first.data, first.source) == (
        MOTION_TOPIC,
        "Initialized",
        (("State", "false"),),
        (("VideoSourceConfigurationToken", "vsc0"),),
    )
    hub.poll()
    assert sub.take(10) == []
    world.motion = True
    hub.poll()
    [changed] = sub.take(10)
    assert (changed.operation, changed.data) == ("Changed", (("State", "true"),))
    hub.synchronize(sub)
    assert [(m.operation, m.data) for m in sub.take(10)] == [("Initialized", (("State", "true"),))]
    world.now += timedelta(seconds=10)
    with pytest.raises(UnknownSubscription) as info:
        hub.get(sub.id)
    assert str(info.value) == f"{sub.id!r} expired"
    await hub.close()
