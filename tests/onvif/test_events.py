"""PullPointSubscriber against the simulated camera: motion, tamper, renewals, reboots, stop."""

from __future__ import annotations

import asyncio
import datetime as dt
from collections.abc import AsyncIterator, Callable
from types import SimpleNamespace
from typing import Any

import pytest

from adapters.onvif.client import OnvifCameraClient
from adapters.onvif.errors import OnvifMalformedReply, OnvifUnreachable
from adapters.onvif.events import PullPointSubscriber, SubscriberState, SubscriberStatus, parse_notification
from adapters.onvif.models import CameraEvent
from tests.onvif.conftest import Sim


class Collector:
    """The events delivered so far, and a way to wait for one."""

    def __init__(self) -> None:
        self.events: list[CameraEvent] = []
        self._changed = asyncio.Event()

    async def __call__(self, event: CameraEvent) -> None:
        self.events.append(event)
        self._changed.set()

    def seen(self) -> list[tuple[str, bool, str | None]]:
        return [(e.topic, e.state, e.property_operation) for e in self.events]

    async def wait_for(self, predicate: Callable[[CameraEvent], bool], timeout_s: float = 5.0) -> CameraEvent:
        async with asyncio.timeout(timeout_s):
            while True:
                for event in self.events:
                    if predicate(event):
                        self.events.remove(event)
                        return event
                self._changed.clear()
                await self._changed.wait()


@pytest.fixture
async def collector(client: OnvifCameraClient) -> AsyncIterator[tuple[Collector, PullPointSubscriber]]:
    events = Collector()
    subscriber = PullPointSubscriber(
        client, on_event=events, pull_timeout_s=1.0, renew_every_s=60.0, retry_initial_s=0.2, retry_max_s=1.0
    )
    await subscriber.start()
    yield events, subscriber
    await subscriber.stop()


def _is(topic: str, state: bool, operation: str = "Changed") -> Callable[[CameraEvent], bool]:
    return lambda e: (e.topic, e.state, e.property_operation) == (topic, state, operation)


async def test_initial_state_then_motion_on_and_off(
    sim: Sim, collector: tuple[Collector, PullPointSubscriber]
) -> None:
    events, subscriber = collector
    initial = await events.wait_for(_is("motion", False, "Initialized"))
    assert initial.source_token == "vsc0" and initial.utc_time is not None
    await events.wait_for(_is("tamper", False, "Initialized"))
    assert subscriber.status.state is SubscriberState.SUBSCRIBED
    sim.device.emit_event("tns1:RuleEngine/Custom", {"State": "42"})  # not for the hub: ignored
    sim.motion = True
    await events.wait_for(_is("motion", True))
    sim.motion = False
    await events.wait_for(_is("motion", False))
    assert events.seen() == []


async def test_tamper(sim: Sim, collector: tuple[Collector, PullPointSubscriber]) -> None:
    events, _ = collector
    await events.wait_for(_is("tamper", False, "Initialized"))
    sim.faults.add("tamper@0:3")
    event = await events.wait_for(_is("tamper", True))
    assert event.utc_time is not None and abs(event.utc_time - dt.datetime.now(dt.UTC)) < dt.timedelta(
        seconds=2
    )


async def test_stop_unsubscribes(sim: Sim, client: OnvifCameraClient) -> None:
    events = Collector()
    subscriber = PullPointSubscriber(client, on_event=events, pull_timeout_s=1.0)
    await subscriber.start()
    await events.wait_for(_is("motion", False, "Initialized"))
    assert len(sim.device.events.subscriptions) == 1
    await subscriber.stop()
    assert sim.device.events.subscriptions == {}
    assert subscriber.status.state is SubscriberState.STOPPED


async def test_renews_before_termination(sim: Sim, client: OnvifCameraClient) -> None:
    events = Collector()
    subscriber = PullPointSubscriber(client, on_event=events, pull_timeout_s=0.5, renew_every_s=1.5)
    await subscriber.start()
    try:
        await events.wait_for(_is("motion", False, "Initialized"))
        [subscription] = sim.device.events.subscriptions.values()
        first = subscription.termination  # 3 s after subscribing
        await asyncio.sleep(2.5)
        assert subscription.termination - first > dt.timedelta(seconds=0.5)
        assert list(sim.device.events.subscriptions.values()) == [subscription]
    finally:
        await subscriber.stop()


async def test_resubscribes_after_a_reboot(
    sim: Sim, client: OnvifCameraClient, collector: tuple[Collector, PullPointSubscriber]
) -> None:
    events, subscriber = collector
    await events.wait_for(_is("motion", False, "Initialized"))
    [before] = sim.device.events.subscriptions
    assert await client.call("devicemgmt", "SystemReboot") == "Rebooting in 5 seconds"
    sim.device.events.subscriptions.clear()  # a real camera forgets them; the sim does not
    # The pending long poll learns that its subscription is gone; then the camera refuses us.
    async with asyncio.timeout(3):
        while not isinstance(subscriber.status.last_error, OnvifUnreachable):  # noqa: ASYNC110  # status has no change event
            await asyncio.sleep(0.05)
    assert subscriber.status.state is SubscriberState.RETRYING
    await events.wait_for(_is("motion", False, "Initialized"), timeout_s=10)  # a fresh subscription
    assert subscriber.status == SubscriberStatus(SubscriberState.SUBSCRIBED)
    [after] = sim.device.events.subscriptions
    assert after != before
    sim.motion = True
    await events.wait_for(_is("motion", True))


def _message(topic: str | None, data: dict[str, str], operation: str | None = "Changed") -> Any:
    items = [SimpleNamespace(Name=k, Value=v) for k, v in data.items()]
    body = SimpleNamespace(
        Source=SimpleNamespace(SimpleItem=[SimpleNamespace(Name="VideoSourceToken", Value="vs1")]),
        Data=SimpleNamespace(SimpleItem=items),
        UtcTime=dt.datetime(2024, 5, 1, 12, 0, tzinfo=dt.UTC),
        PropertyOperation=operation,
    )
    return SimpleNamespace(Topic=SimpleNamespace(_value_1=topic), Message=SimpleNamespace(_value_1=body))


def test_parse_notification_accepts_any_topic_prefix() -> None:
    # Some vendors bind the ONVIF topic namespace to a prefix other than tns1.
    event = parse_notification(_message("tnsaxis:VideoSource/MotionAlarm", {"State": "1"}, None))
    assert event == CameraEvent("motion", True, dt.datetime(2024, 5, 1, 12, 0, tzinfo=dt.UTC), "vs1", None)
    tamper = parse_notification(
        _message("tns1:VideoSource/GlobalSceneChange/ImagingService", {"State": "false"})
    )
    assert tamper is not None and (tamper.topic, tamper.state) == ("tamper", False)


def test_parse_notification_ignores_unknown_topics_and_rejects_broken_ones() -> None:
    assert parse_notification(_message("tns1:RuleEngine/LineDetector/Crossed", {"ObjectId": "3"})) is None
    with pytest.raises(OnvifMalformedReply) as info:
        parse_notification(_message("tns1:VideoSource/MotionAlarm", {"IsMotion": "true"}))
    assert str(info.value) == "PullMessages: tns1:VideoSource/MotionAlarm without a State item"
    with pytest.raises(OnvifMalformedReply) as info:
        parse_notification(_message(None, {"State": "true"}))
    assert str(info.value) == "PullMessages: a NotificationMessage without a Topic"


def test_pull_timeout_must_be_shorter_than_the_renewal(client: OnvifCameraClient) -> None:
    async def ignore(event: CameraEvent) -> None:
        return None

    with pytest.raises(ValueError, match=r"^pull_timeout_s 60 must be in \(0, renew_every_s 60\)$"):
        PullPointSubscriber(client, on_event=ignore, pull_timeout_s=60, renew_every_s=60)
