"""Assemble whole access units (one picture each) from the packets FFmpeg's demuxer emits.

Cameras often split a picture into several slices. Over RTSP, FFmpeg then emits one packet per
slice, all with the same pts, and sometimes the first with ``pts=None``. Muxers reject such runs
(error 22, non-monotonic timestamps), so the hub merges them back into one packet per picture by
looking at the slice headers (``first_mb_in_slice == 0`` starts a picture), with the pts as a
fall-back signal. Parameter sets are kept and repeated before every keyframe.

This runs once per packet of every camera, so it reads only what it must: the NAL units before
a packet's first slice and that slice's header. The slice data itself is passed through as it
came (FFmpeg already hands out Annex B), so the common packet, one whole picture, leaves here as
the very bytes object it arrived in.
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
    pieces: list[bytes] = field(default_factory=list)  # each packet's part, Annex B
    in_band: list[bytes] = field(default_factory=list)  # parameter sets the packets carried
    pts: int | None = None
    dts: int | None = None
    wallclock: float = 0.0
    has_vcl: bool = False
    keyframe: bool = False


class AccessUnitAssembler:
    """Feed packets in demux order with :meth:`push`; complete access units come out.

    An access unit is emitted when the first packet of the next one arrives (one packet of
    latency), or by :meth:`flush` at the end of the stream.
    """

    def __init__(self, codec: str, extradata: bytes | None) -> None:
        if codec not in ("h264", "hevc"):
            raise ValueError(f"unsupported codec {codec!r}: only h264 and hevc are recorded")
        self.codec = codec
        self._hevc = codec == "hevc"
        self._sets: dict[int, bytes] = {}
        for unit in nal.parameter_sets_from_extradata(codec, extradata):
            self._sets[nal.nal_type(codec, unit)] = unit
        self._sets_prefix: bytes | None = None  # the sets joined, rebuilt when they change
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
        return self.push_data(packet.data, packet.pts, packet.dts, packet.wallclock)

    def push_data(self, data: bytes, pts: int | None, dts: int | None, wallclock: float) -> list[AccessUnit]:
        """:meth:`push` without building a :class:`RawPacket`: the reader thread's hot path."""
        lead, head, piece = self._parse(data)
        out: list[AccessUnit] = []
        pending = self._pending
        if pending.has_vcl and self._starts_new_unit(lead, head, pts, pending.pts):
            out.append(self._emit())
            pending = self._pending
        if not pending.pieces:
            pending.wallclock = wallclock
        pending.pieces.append(piece)
        codec = self.codec
        for unit in lead:
            if nal.is_parameter_set(codec, unit):
                pending.in_band.append(unit)
        if head:
            pending.has_vcl = True
            if not pending.keyframe:
                pending.keyframe = self._is_keyframe(head[0])
        if pending.pts is None:
            pending.pts = pts
        if pending.dts is None:
            pending.dts = dts
        return out

    def flush(self) -> list[AccessUnit]:
        return [self._emit()] if self._pending.has_vcl else []

    def _parse(self, data: bytes) -> tuple[list[bytes], bytes, bytes]:
        """(units before the first slice, the first slice's first bytes or b"", the packet as
        Annex B). All slices of a picture share its type (H.264 §7.4.1.2.4, H.265 §7.4.2.2), so
        the first one tells a keyframe."""
        if self._length_size:
            units = nal.split_length_prefixed(data, self._length_size)
            for i, unit in enumerate(units):
                if nal.is_vcl(self.codec, unit):
                    return units[:i], unit[:3], nal.join_annexb(units)
            return units, b"", nal.join_annexb(units)
        lead, offset = nal.split_before_slice(self.codec, data)
        if offset < 0:
            return lead, b"", nal.join_annexb(lead)
        prefix = nal.join_annexb(lead) + nal.START_CODE if lead else nal.START_CODE
        if offset == len(prefix) and data.startswith(prefix):
            return lead, data[offset : offset + 3], data  # already in the hub's form: no copy
        # Leading garbage dropped, start codes before the first slice made four bytes long.
        return lead, data[offset : offset + 3], prefix + data[offset:]

    def _is_keyframe(self, header: int) -> bool:
        if self._hevc:
            return 16 <= (header >> 1) & 0x3F <= 23  # IRAP pictures: BLA, IDR, CRA
        return header & 0x1F == nal.H264_IDR

    def _starts_new_unit(self, lead: list[bytes], head: bytes, pts: int | None, current: int | None) -> bool:
        codec = self.codec
        for unit in lead:
            if nal.opens_access_unit(codec, unit):
                return True
        if head and nal.starts_picture(codec, head):
            return True
        return pts is not None and current is not None and pts != current

    def _emit(self) -> AccessUnit:
        pending, self._pending = self._pending, _Pending()
        codec = self.codec
        for unit in pending.in_band:
            kind = nal.nal_type(codec, unit)
            old = self._sets.get(kind)
            if old != unit:
                if old is not None:
                    self.generation += 1
                self._sets[kind] = unit
                self._sets_prefix = None
        pieces = pending.pieces
        if pending.keyframe and not pending.in_band:
            if self._sets_prefix is None:
                self._sets_prefix = nal.join_annexb(self.parameter_sets)
            data = b"".join([self._sets_prefix, *pieces])
        elif len(pieces) == 1:
            data = pieces[0]
        else:
            data = b"".join(pieces)
        pts = self._fill_time(pending.pts, self._last_pts)
        dts = self._fill_time(pending.dts, self._last_dts) if pending.dts is not None else pts
        if self._last_pts is not None and pts > self._last_pts:
            self._last_step = pts - self._last_pts
        self._last_pts, self._last_dts = pts, dts
        return AccessUnit(
            data=data,
            pts=pts,
            dts=min(dts, pts),
            is_keyframe=pending.keyframe,
            wallclock=pending.wallclock,
            generation=self.generation,
        )

    def _fill_time(self, value: int | None, last: int | None) -> int:
        if value is not None:
            return value
        return 0 if last is None else last + max(self._last_step, 1)
