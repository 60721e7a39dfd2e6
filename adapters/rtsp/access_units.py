"""Assemble whole access units (one picture each) from the packets FFmpeg's demuxer emits.

Cameras often split a picture into several slices. Over RTSP, FFmpeg then emits one packet per
slice, all with the same pts, and sometimes the first with ``pts=None``. Muxers reject such runs
(error 22, non-monotonic timestamps), so the hub merges them back into one packet per picture by
looking at the slice headers (``first_mb_in_slice == 0`` starts a picture), with the pts as a
fall-back signal. Parameter sets are kept and repeated before every keyframe.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from adapters.rtsp import nal


@dataclass(slots=True)
class RawPacket:
    data: bytes
    pts: int | None
    dts: int | None
    wallclock: float


@dataclass(frozen=True, slots=True)
class AccessUnit:
    data: bytes  # Annex B, parameter sets in front when a keyframe
    pts: int
    dts: int
    is_keyframe: bool
    wallclock: float
    generation: int  # bumps each time the SPS changes


@dataclass(slots=True)
class _Pending:
    units: list[bytes] = field(default_factory=list)
    pts: int | None = None
    dts: int | None = None
    wallclock: float = 0.0
    has_vcl: bool = False


def _is_keyframe_unit(codec: str, unit: bytes) -> bool:
    t = nal.nal_type(codec, unit)
    return 16 <= t <= 23 if codec == "hevc" else t == nal.H264_IDR


class AccessUnitAssembler:
    """Feed packets in demux order with :meth:`push`; complete access units come out.

    An access unit is emitted when the first packet of the next one arrives (one packet of
    latency), or by :meth:`flush` at the end of the stream.
    """

    def __init__(self, codec: str, extradata: bytes | None) -> None:
        if codec not in ("h264", "hevc"):
            raise ValueError(f"unsupported codec {codec!r}: only h264 and hevc are recorded")
        self.codec = codec
        self._sets: dict[int, bytes] = {}
        for unit in nal.parameter_sets_from_extradata(codec, extradata):
            self._sets[nal.nal_type(codec, unit)] = unit
        self._length_size = nal.length_size_for(codec, extradata)
        self.generation = 0
        self._pending = _Pending()
        self._last_pts: int | None = None
        self._last_dts: int | None = None
        self._last_step = 0

    @property
    def parameter_sets(self) -> list[bytes]:
        return [self._sets[k] for k in sorted(self._sets)]

    def push(self, packet: RawPacket) -> list[AccessUnit]:
        if self._length_size:
            units = nal.split_length_prefixed(packet.data, self._length_size)
        else:
            units = nal.split_annexb(packet.data)
        out: list[AccessUnit] = []
        if self._pending.has_vcl and self._starts_new_unit(units, packet.pts):
            out.extend(self._emit())
        pending = self._pending
        if not pending.units:
            pending.wallclock = packet.wallclock
        pending.units.extend(units)
        pending.has_vcl = pending.has_vcl or any(nal.is_vcl(self.codec, u) for u in units)
        if pending.pts is None:
            pending.pts = packet.pts
        if pending.dts is None:
            pending.dts = packet.dts
        return out

    def flush(self) -> list[AccessUnit]:
        return self._emit() if self._pending.has_vcl else []

    def _starts_new_unit(self, units: list[bytes], pts: int | None) -> bool:
        for unit in units:
            if nal.opens_access_unit(self.codec, unit) or nal.starts_picture(self.codec, unit):
                return True
            if nal.is_vcl(self.codec, unit):
                break
        current = self._pending.pts
        return pts is not None and current is not None and pts != current

    def _emit(self) -> list[AccessUnit]:
        pending, self._pending = self._pending, _Pending()
        codec = self.codec
        keyframe = any(_is_keyframe_unit(codec, u) for u in pending.units)
        in_band = [u for u in pending.units if nal.is_parameter_set(codec, u)]
        for unit in in_band:
            kind = nal.nal_type(codec, unit)
            old = self._sets.get(kind)
            if old is not None and old != unit:
                self.generation += 1
            self._sets[kind] = unit
        units = pending.units
        if keyframe and not in_band:
            units = self.parameter_sets + units
        pts = self._fill_time(pending.pts, self._last_pts)
        dts = self._fill_time(pending.dts, self._last_dts) if pending.dts is not None else pts
        if self._last_pts is not None and pts > self._last_pts:
            self._last_step = pts - self._last_pts
        self._last_pts, self._last_dts = pts, dts
        return [
            AccessUnit(
                data=nal.join_annexb(units),
                pts=pts,
                dts=min(dts, pts),
                is_keyframe=keyframe,
                wallclock=pending.wallclock,
                generation=self.generation,
            )
        ]

    def _fill_time(self, value: int | None, last: int | None) -> int:
        if value is not None:
            return value
        return 0 if last is None else last + max(self._last_step, 1)
