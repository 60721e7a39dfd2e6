"""Motion and tamper events through an ONVIF pull-point subscription, kept alive across reboots.

The subscriber creates a pull point, long-polls PullMessages, renews before TerminationTime and
unsubscribes on stop. Any failure (a reboot forgets subscriptions and refuses connections for a
while) leads to a fresh subscription after a back-off, retried until the camera answers again.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import enum
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, Literal

from adapters.onvif.client import NAMESPACES, OnvifCameraClient
from adapters.onvif.errors import OnvifError, OnvifMalformedReply
from adapters.onvif.models import CameraEvent, field

logger = logging.getLogger(__name__)

PULL_POINT = "PullPointSubscription"
# Topics by their path: the prefix is the camera's choice (tns1 usually; some vendors bind another).
TOPICS: dict[str, Literal["motion", "tamper"]] = {
    "VideoSource/MotionAlarm": "motion",
    "VideoSource/GlobalSceneChange/ImagingService": "tamper",
}
# Unsubscribing the previous pull point is a courtesy (it expires anyway): these are expected then.
DROP_ERRORS = (OnvifError,)


class SubscriberState(enum.StrEnum):
    STOPPED = "stopped"
    SUBSCRIBING = "subscribing"
    SUBSCRIBED = "subscribed"
    RETRYING = "retrying"


@dataclass(frozen=True)
class SubscriberStatus:
    state: SubscriberState
    last_error: OnvifError | None = None


def parse_notification(message: Any) -> CameraEvent | None:
    """A NotificationMessage → CameraEvent; None for topics the hub does not use."""
    topic = field(message, "Topic._value_1")
    if not topic:
        raise OnvifMalformedReply("PullMessages: a NotificationMessage without a Topic")
    kind = TOPICS.get(str(topic).strip().partition(":")[2])
    if kind is None:
        return None
    body = field(message, "Message._value_1")
    data = {str(i.Name): str(i.Value) for i in field(body, "Data.SimpleItem") or [] if field(i, "Name")}
    if "State" not in data:
        raise OnvifMalformedReply(f"PullMessages: {topic} without a State item")
    source = [str(i.Value) for i in field(body, "Source.SimpleItem") or [] if field(i, "Value") is not None]
    utc_time = field(body, "UtcTime")
    operation = field(body, "PropertyOperation")
    return CameraEvent(
        topic=kind,
        state=data["State"].strip().lower() in ("true", "1"),
        utc_time=utc_time if isinstance(utc_time, dt.datetime) else None,
        source_token=source[0] if source else None,
        property_operation=None if operation is None else str(operation),
    )


class PullPointSubscriber:
    """Delivers the camera's motion and tamper events to ``on_event``, one at a time."""

    def __init__(
        self,
        client: OnvifCameraClient,
        *,
        on_event: Callable[[CameraEvent], Awaitable[None]],
        renew_every_s: float = 60.0,
        pull_timeout_s: float = 20.0,
        message_limit: int = 32,
        retry_initial_s: float = 1.0,
        retry_max_s: float = 60.0,
    ) -> None:
        if not 0 < pull_timeout_s < renew_every_s:
            raise ValueError(
                f"pull_timeout_s {pull_timeout_s:g} must be in (0, renew_every_s {renew_every_s:g})"
            )
        self.client, self.on_event = client, on_event
        self.renew_every_s, self.pull_timeout_s = renew_every_s, pull_timeout_s
        self.message_limit = message_limit
        self.retry_initial_s, self.retry_max_s = retry_initial_s, retry_max_s
        self.status = SubscriberStatus(SubscriberState.STOPPED)
        self._task: asyncio.Task[None] | None = None
        self._address: str | None = None  # of the current pull point
        self._renew_at = 0.0

    async def start(self) -> None:
        if self._task is None or self._task.done():
            self._task = asyncio.get_running_loop().create_task(
                self._run(), name=f"onvif-events {self.client.name}"
            )

    async def stop(self) -> None:
        """End the loop, then unsubscribe. If the caller itself is being cancelled, that propagates."""
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            try:
                await task
            except asyncio.CancelledError:
                current = asyncio.current_task()
                if current is not None and current.cancelling():
                    raise
        await self._drop_subscription()
        self.status = SubscriberStatus(SubscriberState.STOPPED)

    async def _run(self) -> None:
        try:
            await self._subscribe_forever()
        except Exception:
            logger.exception("%s: the event subscriber stopped on an unexpected error", self.client.name)
            self.status = SubscriberStatus(SubscriberState.STOPPED, self.status.last_error)
            raise

    async def _subscribe_forever(self) -> None:
        delay = self.retry_initial_s
        failures = 0  # in a row
        while True:
            try:
                if failures:  # a reboot may have moved the clock or the services
                    await self.client.refresh()
                self.status = SubscriberStatus(SubscriberState.SUBSCRIBING, self.status.last_error)
                await self._subscribe()
                self.status = SubscriberStatus(SubscriberState.SUBSCRIBED)
                while True:
                    await self._pull_once()
                    delay, failures = self.retry_initial_s, 0
            except OnvifError as err:
                # The first failure is news; repeats while the camera stays down are not.
                level = logging.INFO if failures else logging.WARNING
                failures += 1
                self.status = SubscriberStatus(SubscriberState.RETRYING, err)
                logger.log(
                    level,
                    "%s: event subscription failed (%s); retrying in %.1f s",
                    self.client.name,
                    err.reason,
                    delay,
                )
                await asyncio.sleep(delay)
                delay = min(delay * 2, self.retry_max_s)

    async def _subscribe(self) -> None:
        await self._drop_subscription()
        self.client.require("events")
        params = {"InitialTerminationTime": f"PT{round(self.renew_every_s * 2)}S"}
        reply = await self.client.call("events", "CreatePullPointSubscription", params)
        address = field(reply, "SubscriptionReference.Address._value_1")
        if not address:
            raise OnvifMalformedReply(
                "CreatePullPointSubscription: no SubscriptionReference", camera=self.client.name
            )
        self._address = str(address).strip()
        # onvif-zeep-async finds the pull point's address for port type PullPointSubscription here.
        self.client.camera.xaddrs[f"{NAMESPACES['events']}/{PULL_POINT}"] = self._address
        self._schedule_renew(reply)
        logger.info("%s: subscribed to events at %s", self.client.name, self._address)

    def _schedule_renew(self, reply: Any) -> None:
        """Renew every ``renew_every_s``, or sooner if the camera granted less (80 % of its lifetime)."""
        every = self.renew_every_s
        current, termination = field(reply, "CurrentTime"), field(reply, "TerminationTime")
        if isinstance(current, dt.datetime) and isinstance(termination, dt.datetime):
            every = min(every, max(1.0, 0.8 * (termination - current).total_seconds()))
        self._renew_at = asyncio.get_running_loop().time() + every

    async def _pull_once(self) -> None:
        loop = asyncio.get_running_loop()
        if loop.time() >= self._renew_at:
            params = {"TerminationTime": f"PT{round(self.renew_every_s * 2)}S"}
            self._schedule_renew(
                await self.client.call("subscription", "Renew", params, port_type=PULL_POINT)
            )
        wait = max(1.0, min(self.pull_timeout_s, self._renew_at - loop.time()))
        request = {"Timeout": dt.timedelta(seconds=round(wait)), "MessageLimit": self.message_limit}
        reply = await self.client.call(
            "pullpoint", "PullMessages", request, port_type=PULL_POINT, timeout_s=wait + self.client.timeout_s
        )
        for message in field(reply, "NotificationMessage") or []:
            try:
                event = parse_notification(message)
            except OnvifMalformedReply as err:
                logger.warning("%s: skipping an event: %s", self.client.name, err.reason)
                continue
            if event is None:
                logger.debug("%s: ignoring topic %s", self.client.name, field(message, "Topic._value_1"))
                continue
            try:
                await self.on_event(event)
            except Exception:  # one failing consumer must not end the camera's events
                logger.exception("%s: on_event failed for %s", self.client.name, event)

    async def _drop_subscription(self) -> None:
        address, self._address = self._address, None
        if address is None or not self.client.connected:
            return
        # The subscription service follows the address set in _subscribe; it is still this one.
        self.client.camera.xaddrs[f"{NAMESPACES['events']}/{PULL_POINT}"] = address
        try:
            await self.client.call("subscription", "Unsubscribe", port_type=PULL_POINT, timeout_s=2.0)
        except DROP_ERRORS as err:
            logger.debug("%s: unsubscribing %s failed: %s", self.client.name, address, err.reason)
