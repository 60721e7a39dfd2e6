"""Pull-point subscriptions and the event properties they report (motion, tamper).

Each subscription has its own queue. A new subscription, and a synchronization point, queue an
``Initialized`` message per property with its current state; a poller task (running while any
subscription exists) queues ``Changed`` messages when a property's state flips.
"""

from __future__ import annotations

import asyncio
import logging
import secrets
from collections import deque
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta

logger = logging.getLogger(__name__)

MOTION_TOPIC = "tns1:VideoSource/MotionAlarm"
TAMPER_TOPIC = "tns1:VideoSource/GlobalSceneChange/ImagingService"
SOURCE_ITEM = "VideoSourceConfigurationToken"
MAX_QUEUE = 1000
POLL_INTERVAL_S = 0.5


@dataclass(frozen=True)
class EventMessage:
    topic: str
    utc_time: datetime
    operation: str | None  # PropertyOperation: Initialized / Changed / Deleted; None: not a property
    source: tuple[tuple[str, str], ...]
    data: tuple[tuple[str, str], ...]


@dataclass(eq=False)
class Subscription:
    id: str
    termination: datetime
    queue: deque[EventMessage] = field(default_factory=lambda: deque(maxlen=MAX_QUEUE))
    wakeup: asyncio.Event = field(default_factory=asyncio.Event)

    def push(self, message: EventMessage) -> None:
        self.queue.append(message)
        self.wakeup.set()

    def take(self, limit: int) -> list[EventMessage]:
        taken = [self.queue.popleft() for _ in range(min(limit, len(self.queue)))]
        if not self.queue:
            self.wakeup.clear()
        return taken


class UnknownSubscription(LookupError):
    """No such subscription, or it expired (``wsrf-r:ResourceUnknownFault``)."""


class EventHub:
    """The device's subscriptions; ``properties()`` gives each property topic's current state."""

    def __init__(
        self,
        *,
        name: str,
        clock: Callable[[], datetime],
        properties: Callable[[], Mapping[str, bool]],
        source: str,
    ) -> None:
        self.name = name
        self.clock = clock
        self.properties = properties
        self.source = ((SOURCE_ITEM, source),)
        self.subscriptions: dict[str, Subscription] = {}
        self._last: dict[str, bool] = {}
        self._poller: asyncio.Task[None] | None = None

    def _message(self, topic: str, state: bool, operation: str) -> EventMessage:
        return EventMessage(topic, self.clock(), operation, self.source, (("State", str(state).lower()),))

    def create(self, lifetime: timedelta) -> Subscription:
        self.poll()  # older subscriptions hear of changes before the new one is initialized
        sub = Subscription(secrets.token_hex(8), self.clock() + lifetime)
        self.subscriptions[sub.id] = sub
        self.synchronize(sub)
        if self._poller is None or self._poller.done():
            self._poller = asyncio.get_running_loop().create_task(self._poll_loop(), name="onvif-events-poll")
        return sub

    def get(self, sub_id: str) -> Subscription:
        sub = self.subscriptions.get(sub_id)
        if sub is None or sub.termination <= self.clock():
            self.subscriptions.pop(sub_id, None)
            raise UnknownSubscription(f"no subscription {sub_id!r}" if sub is None else f"{sub_id!r} expired")
        return sub

    def remove(self, sub_id: str) -> None:
        self.get(sub_id)
        sub = self.subscriptions.pop(sub_id)
        sub.wakeup.set()

    def forget(self) -> None:
        """A reboot: the camera loses every subscription (pulls on them fail as unknown)."""
        for sub in self.subscriptions.values():
            sub.wakeup.set()
        self.subscriptions.clear()

    def synchronize(self, sub: Subscription) -> None:
        for topic, state in self.properties().items():
            self._last[topic] = state
            sub.push(self._message(topic, state, "Initialized"))

    def publish(self, message: EventMessage) -> None:
        for sub in self.subscriptions.values():
            sub.push(message)

    def poll(self) -> None:
        """Queue ``Changed`` for every property whose state differs from the last one seen."""
        now = self.clock()
        for sub_id in [s.id for s in self.subscriptions.values() if s.termination <= now]:
            del self.subscriptions[sub_id]
        for topic, state in self.properties().items():
            if self._last.get(topic) not in (None, state):
                self.publish(self._message(topic, state, "Changed"))
            self._last[topic] = state

    async def _poll_loop(self) -> None:
        while self.subscriptions:
            await asyncio.sleep(POLL_INTERVAL_S)
            try:
                self.poll()
            except Exception:  # a broken motion() callable must not end the device's events
                logger.exception("%s: polling the simulated event properties failed", self.name)
        self._last.clear()

    async def close(self) -> None:
        for sub in self.subscriptions.values():
            sub.wakeup.set()
        self.subscriptions.clear()
        if self._poller is not None:
            self._poller.cancel()
            await asyncio.wait([self._poller])
            self._poller = None
