"""Events ver10 (``tev``) with WS-BaseNotification pull points: properties, subscribe, pull, renew."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta

from adapters.sim.onvif.services import SUBSCRIPTION_PATH, Call, Handler, Operations
from adapters.sim.onvif.soap import (
    NS,
    Element,
    SoapFault,
    child_text,
    el,
    format_datetime,
    parse_datetime,
    parse_duration,
    required_text,
    text,
)
from adapters.sim.onvif.subscriptions import (
    SOURCE_ITEM,
    EventHub,
    EventMessage,
    Subscription,
    UnknownSubscription,
)

TEV, WSNT = NS["tev"], NS["wsnt"]
CONCRETE_SET = "http://www.onvif.org/ver10/tev/topicExpression/ConcreteSet"
DEFAULT_LIFETIME = timedelta(seconds=60)
MAX_PULL_TIMEOUT_S = 60.0
MAX_MESSAGE_LIMIT = 100


def events_capabilities() -> Element:
    return el(
        "tev:Capabilities",
        WSSubscriptionPolicySupport="false",
        WSPullPointSupport="true",
        WSPausableSubscriptionManagerInterfaceSupport="false",
        MaxNotificationProducers="0",
        MaxPullPoints="10",
        PersistentNotificationStorage="false",
    )


def _description(data_type: str = "xs:boolean") -> Element:
    return el(
        "tt:MessageDescription",
        el("tt:Source", el("tt:SimpleItemDescription", Name=SOURCE_ITEM, Type="tt:ReferenceToken")),
        el("tt:Data", el("tt:SimpleItemDescription", Name="State", Type=data_type)),
        IsProperty="true",
    )


def _topic_set() -> Element:
    topic = {f"{{{NS['wstop']}}}topic": "true"}
    motion = el("tns1:MotionAlarm", _description())
    motion.attrib.update(topic)
    imaging = el("tns1:ImagingService", _description())
    imaging.attrib.update(topic)
    return el("wstop:TopicSet", el("tns1:VideoSource", motion, el("tns1:GlobalSceneChange", imaging)))


def notification(message: EventMessage) -> Element:
    items = {"tt:Source": message.source, "tt:Data": message.data}
    body = el(
        "tt:Message",
        *(el(tag, *(el("tt:SimpleItem", Name=k, Value=v) for k, v in pairs)) for tag, pairs in items.items()),
        UtcTime=format_datetime(message.utc_time),
    )
    if message.operation is not None:
        body.set("PropertyOperation", message.operation)
    return el(
        "wsnt:NotificationMessage",
        el("wsnt:Topic", message.topic, Dialect=CONCRETE_SET),
        el("wsnt:Message", body),
    )


@dataclass
class EventsService:
    hub: EventHub
    base_url: Callable[[], str]

    def operations(self) -> Operations:
        tev: dict[str, Handler] = {
            "GetEventProperties": self.get_event_properties,
            "GetServiceCapabilities": self.get_service_capabilities,
            "CreatePullPointSubscription": self.create_pull_point_subscription,
            "PullMessages": self.pull_messages,
            "SetSynchronizationPoint": self.set_synchronization_point,
        }
        wsnt: dict[str, Handler] = {"Renew": self.renew, "Unsubscribe": self.unsubscribe}
        return {f"{{{TEV}}}{k}": v for k, v in tev.items()} | {f"{{{WSNT}}}{k}": v for k, v in wsnt.items()}

    def _lifetime(self, raw: str | None) -> timedelta:
        """wsnt:AbsoluteOrRelativeTimeType → time from now (device clock)."""
        if not raw:
            return DEFAULT_LIFETIME
        if raw.lstrip("-").startswith("P"):
            seconds = parse_duration(raw)
        else:
            seconds = (parse_datetime(raw) - self.hub.clock()).total_seconds()
        if seconds <= 0:
            raise SoapFault("Sender", ("wsnt:UnacceptableTerminationTimeFault",), f"{raw} is in the past")
        return timedelta(seconds=seconds)

    def _subscription(self, call: Call) -> Subscription:
        sub_id = call.path.removeprefix(SUBSCRIPTION_PATH) if call.path.startswith(SUBSCRIPTION_PATH) else ""
        try:
            return self.hub.get(sub_id)
        except UnknownSubscription as err:
            raise SoapFault("Sender", ("wsrf-r:ResourceUnknownFault",), str(err)) from None

    async def get_event_properties(self, call: Call) -> Element:
        return el(
            "tev:GetEventPropertiesResponse",
            text("tev:TopicNamespaceLocation", "http://www.onvif.org/onvif/ver10/topics/topicns.xml"),
            text("wsnt:FixedTopicSet", True),
            _topic_set(),
            text("wsnt:TopicExpressionDialect", CONCRETE_SET),
            text(
                "wsnt:TopicExpressionDialect", "http://docs.oasis-open.org/wsn/t-1/TopicExpression/Concrete"
            ),
            text(
                "tev:MessageContentFilterDialect",
                "http://www.onvif.org/ver10/tev/messageContentFilter/ItemFilter",
            ),
            text("tev:MessageContentSchemaLocation", "http://www.onvif.org/onvif/ver10/schema/onvif.xsd"),
        )

    async def get_service_capabilities(self, call: Call) -> Element:
        return el("tev:GetServiceCapabilitiesResponse", events_capabilities())

    async def create_pull_point_subscription(self, call: Call) -> Element:
        lifetime = self._lifetime(child_text(call.operation, "tev:InitialTerminationTime"))
        sub = self.hub.create(lifetime)
        return el(
            "tev:CreatePullPointSubscriptionResponse",
            el(
                "tev:SubscriptionReference",
                text("wsa:Address", f"{self.base_url()}{SUBSCRIPTION_PATH}{sub.id}"),
            ),
            text("wsnt:CurrentTime", format_datetime(self.hub.clock())),
            text("wsnt:TerminationTime", format_datetime(sub.termination)),
        )

    async def pull_messages(self, call: Call) -> Element:
        sub = self._subscription(call)
        timeout = min(MAX_PULL_TIMEOUT_S, parse_duration(required_text(call.operation, "tev:Timeout")))
        limit = min(MAX_MESSAGE_LIMIT, int(required_text(call.operation, "tev:MessageLimit")))
        if not sub.queue and timeout > 0:
            with contextlib.suppress(TimeoutError):  # a long poll that times out answers with no messages
                await asyncio.wait_for(sub.wakeup.wait(), timeout)
        if sub.id not in self.hub.subscriptions:  # unsubscribed, or the device stopped, meanwhile
            raise SoapFault("Sender", ("wsrf-r:ResourceUnknownFault",), f"{sub.id!r} was removed")
        return el(
            "tev:PullMessagesResponse",
            text("tev:CurrentTime", format_datetime(self.hub.clock())),
            text("tev:TerminationTime", format_datetime(sub.termination)),
            *(notification(m) for m in sub.take(max(1, limit))),
        )

    async def set_synchronization_point(self, call: Call) -> Element:
        self.hub.synchronize(self._subscription(call))
        return el("tev:SetSynchronizationPointResponse")

    async def renew(self, call: Call) -> Element:
        sub = self._subscription(call)
        sub.termination = self.hub.clock() + self._lifetime(
            child_text(call.operation, "wsnt:TerminationTime")
        )
        return el(
            "wsnt:RenewResponse",
            text("wsnt:TerminationTime", format_datetime(sub.termination)),
            text("wsnt:CurrentTime", format_datetime(self.hub.clock())),
        )

    async def unsubscribe(self, call: Call) -> Element:
        self.hub.remove(self._subscription(call).id)
        return el("wsnt:UnsubscribeResponse")
