"""The ONVIF services of the simulated device. Each maps operation QNames to async handlers."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from adapters.sim.onvif.soap import Element, SoapFault


@dataclass(frozen=True)
class Call:
    """One SOAP request as a handler sees it: the operation element and the HTTP path it came to."""

    operation: Element
    path: str


Handler = Callable[[Call], Awaitable[Element]]
Operations = dict[str, Handler]
Clock = Callable[[], datetime]  # the device clock (UTC, with any skew fault)


class Service(Protocol):
    def operations(self) -> Operations:
        """The handlers of this service, by the Clark name of their request element."""
        ...


def invalid_arg(reason: str, detail: str = "ter:InvalidArgVal") -> SoapFault:
    """A Sender fault ``ter:InvalidArgVal`` / ``detail`` (e.g. ``ter:NoProfile``)."""
    subcodes = ("ter:InvalidArgVal",) if detail == "ter:InvalidArgVal" else ("ter:InvalidArgVal", detail)
    return SoapFault("Sender", subcodes, reason)


DEVICE_PATH = "/onvif/device_service"
MEDIA_PATH = "/onvif/media_service"
PTZ_PATH = "/onvif/ptz_service"
EVENTS_PATH = "/onvif/events_service"
SUBSCRIPTION_PATH = "/onvif/subscription/"  # + subscription id
SNAPSHOT_PATH = "/onvif/snapshot/"  # + profile token + ".jpg"
