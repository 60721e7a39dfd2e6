"""Fault injection for simulated cameras: a small grammar, and the live state the servers read.

Grammar (``hub sim --faults`` and :func:`parse_faults`): comma-separated items, each
``KIND[@AT][:VALUE]``. ``AT`` is seconds after the camera started (``s`` suffix optional);
``VALUE`` depends on the kind.

=================  ====================================================  ===================
kind               effect                                                example
=================  ====================================================  ===================
``drop``           close each RTSP connection AT s after its PLAY          ``drop@10``
``stall``          stop sending RTP (socket stays open) from AT for VALUE  ``stall@20:5``
``corrupt``        flip bytes in a fraction VALUE of RTP payloads          ``corrupt:0.02``
``ts_jump``        add VALUE seconds to RTP timestamps from AT on          ``ts_jump@30:3600``
``ts_wrap``        RTP timestamps pass 2^32 (wrap to 0) at AT, no jump     ``ts_wrap@30``
``resize``         switch to VALUE (``WxH``) at the first keyframe after AT ``resize@40:320x180``
``offline``        refuse RTSP and ONVIF connections from AT for VALUE s   ``offline@50:10``
``reboot``         as ONVIF SystemReboot at AT: streams drop, back after 5  ``reboot@60``
``slow_soap``      delay every ONVIF reply by VALUE seconds                ``slow_soap:2``
``malformed_soap`` answer ONVIF requests with broken XML                   ``malformed_soap``
``clock_skew``     the device clock is off by VALUE seconds (may be < 0)   ``clock_skew:7200``
``tamper``         cover the lens (black picture, GlobalSceneChange) AT..  ``tamper@30:5``
=================  ====================================================  ===================

A VALUE of duration omitted means "forever". Tests also add faults at run time with
:meth:`CameraFaults.add`. ``ts_wrap`` sets the stream's RTP clock from its start so that it wraps
at AT (a random base wraps only every 13 hours); added at run time it also jumps once, then.
"""

from __future__ import annotations

import enum
import re
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass

REBOOT_DOWNTIME_S = 5.0


class FaultKind(enum.StrEnum):
    DROP = "drop"
    STALL = "stall"
    CORRUPT = "corrupt"
    TS_JUMP = "ts_jump"
    TS_WRAP = "ts_wrap"
    RESIZE = "resize"
    OFFLINE = "offline"
    REBOOT = "reboot"
    SLOW_SOAP = "slow_soap"
    MALFORMED_SOAP = "malformed_soap"
    CLOCK_SKEW = "clock_skew"
    TAMPER = "tamper"


_NEEDS_AT = {
    FaultKind.DROP,
    FaultKind.STALL,
    FaultKind.TS_JUMP,
    FaultKind.TS_WRAP,
    FaultKind.RESIZE,
    FaultKind.REBOOT,
}
_NO_VALUE = {FaultKind.MALFORMED_SOAP, FaultKind.TS_WRAP}
_NEEDS_VALUE = {
    FaultKind.CORRUPT,
    FaultKind.TS_JUMP,
    FaultKind.RESIZE,
    FaultKind.SLOW_SOAP,
    FaultKind.CLOCK_SKEW,
}
_DURATION_VALUE = {FaultKind.STALL, FaultKind.OFFLINE, FaultKind.TAMPER}
_ITEM = re.compile(r"^(?P<kind>[a-z_]+)(?:@(?P<at>[0-9]+(?:\.[0-9]+)?)s?)?(?::(?P<value>[^,]+))?$")
_SIZE = re.compile(r"^([1-9][0-9]{1,4})x([1-9][0-9]{1,4})$")


@dataclass(frozen=True, slots=True)
class Fault:
    kind: FaultKind
    at_s: float = 0.0
    value: float | None = None  # seconds, fraction or skew, by kind
    size: tuple[int, int] | None = None  # resize only


def _number(kind: FaultKind, text: str) -> float:
    try:
        return float(text.rstrip("s"))
    except ValueError:
        raise ValueError(f"fault {kind}: {text!r} is not a number") from None


def parse_fault(item: str) -> Fault:
    match = _ITEM.match(item.strip())
    if match is None:
        raise ValueError(f"fault {item!r} is not KIND[@SECONDS][:VALUE]")
    try:
        kind = FaultKind(match["kind"])
    except ValueError:
        known = ", ".join(k.value for k in FaultKind)
        raise ValueError(f"unknown fault {match['kind']!r} (known: {known})") from None
    at = float(match["at"]) if match["at"] else 0.0
    raw = match["value"]
    if kind in _NEEDS_AT and match["at"] is None:
        raise ValueError(f"fault {kind} needs @SECONDS")
    if kind in _NEEDS_VALUE and raw is None:
        raise ValueError(f"fault {kind} needs :VALUE")
    if kind is FaultKind.RESIZE:
        size = _SIZE.match(raw or "")
        if size is None:
            raise ValueError(f"fault resize: {raw!r} is not WIDTHxHEIGHT")
        return Fault(kind, at, size=(int(size[1]), int(size[2])))
    value = _number(kind, raw) if raw is not None else None
    if kind is FaultKind.CORRUPT and value is not None and not 0 < value <= 1:
        raise ValueError(f"fault corrupt: fraction {value:g} must be in (0, 1]")
    if kind in (FaultKind.STALL, FaultKind.OFFLINE, FaultKind.TAMPER, FaultKind.SLOW_SOAP) and (
        value is not None and value <= 0
    ):
        raise ValueError(f"fault {kind}: duration {value:g} must be positive")
    if kind in _NO_VALUE and raw is not None:
        raise ValueError(f"fault {kind} takes no value")
    return Fault(kind, at, value)


def parse_faults(spec: str) -> list[Fault]:
    """``"drop@10,slow_soap:2"`` → faults. Raises ValueError naming the bad item."""
    if not spec.strip():
        return []
    return [parse_fault(item) for item in spec.split(",")]


class CameraFaults:
    """The live fault state of one simulated camera, shared by its RTSP stream and ONVIF device."""

    def __init__(self, faults: Iterable[Fault] = (), *, clock: Callable[[], float] = time.monotonic) -> None:
        self.clock = clock
        self.started = clock()
        self.faults: list[Fault] = list(faults)

    def elapsed(self) -> float:
        return self.clock() - self.started

    def add(self, fault: Fault | str, *, now_relative: bool = True) -> Fault:
        """Add a fault; with ``now_relative`` its @AT counts from now instead of from the start."""
        parsed = parse_fault(fault) if isinstance(fault, str) else fault
        if now_relative and parsed.kind is not FaultKind.DROP:  # drop's @AT counts from each PLAY
            parsed = Fault(parsed.kind, parsed.at_s + self.elapsed(), parsed.value, parsed.size)
        self.faults.append(parsed)
        return parsed

    def clear(self, kind: FaultKind | None = None) -> None:
        self.faults = [] if kind is None else [f for f in self.faults if f.kind is not kind]

    def _active(self, kind: FaultKind) -> Fault | None:
        t = self.elapsed()
        for fault in self.faults:
            # Only for stall, offline and tamper is VALUE a duration; corrupt's is a fraction,
            # slow_soap's a delay and clock_skew's an offset: those last forever once on.
            duration = fault.value if kind in _DURATION_VALUE else None
            if fault.kind is kind and fault.at_s <= t and (duration is None or t < fault.at_s + duration):
                return fault
        return None

    def reboot(self) -> None:
        """SystemReboot: everything refuses connections for a few seconds."""
        self.faults.append(Fault(FaultKind.REBOOT, self.elapsed()))

    # --- what the RTSP server asks -------------------------------------------------
    def refusing(self) -> bool:
        """Offline or rebooting: refuse (close) RTSP and ONVIF connections."""
        if self._active(FaultKind.OFFLINE) is not None:
            return True
        t = self.elapsed()
        return any(
            f.kind is FaultKind.REBOOT and f.at_s <= t < f.at_s + REBOOT_DOWNTIME_S for f in self.faults
        )

    def drop_after_s(self) -> float | None:
        """Seconds after PLAY when each RTSP connection is closed, if a drop fault is set."""
        drops = [f.at_s for f in self.faults if f.kind is FaultKind.DROP]
        return min(drops) if drops else None

    def stalled(self) -> bool:
        return self._active(FaultKind.STALL) is not None

    def corrupt_fraction(self) -> float:
        fault = self._active(FaultKind.CORRUPT)
        return fault.value or 0.0 if fault is not None else 0.0

    def timestamp_offset_s(self) -> float:
        t = self.elapsed()
        return sum(f.value or 0.0 for f in self.faults if f.kind is FaultKind.TS_JUMP and f.at_s <= t)

    def timestamp_wrap(self) -> Fault | None:
        """The ``ts_wrap`` fault that sets the RTP clock (the latest added), if any."""
        wraps = [f for f in self.faults if f.kind is FaultKind.TS_WRAP]
        return wraps[-1] if wraps else None

    def resize(self) -> tuple[int, int] | None:
        t = self.elapsed()
        sizes = [f for f in self.faults if f.kind is FaultKind.RESIZE and f.at_s <= t]
        return max(reversed(sizes), key=lambda f: f.at_s).size if sizes else None  # the latest switch

    def tampered(self) -> bool:
        return self._active(FaultKind.TAMPER) is not None

    # --- what the ONVIF device asks -----------------------------------------------
    def soap_delay_s(self) -> float:
        fault = self._active(FaultKind.SLOW_SOAP)
        return 0.0 if fault is None else fault.value or 0.0

    def soap_malformed(self) -> bool:
        return self._active(FaultKind.MALFORMED_SOAP) is not None

    def clock_skew_s(self) -> float:
        fault = self._active(FaultKind.CLOCK_SKEW)
        return 0.0 if fault is None else fault.value or 0.0
