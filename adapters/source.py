"""The stream-source contract: encoded packets for recording, decoded frames for analysis.

A source is opened on one camera URL and yields, in arrival order, a mix of

* :class:`EncodedPacket` — one complete access unit (all slices of one picture), as received,
  never re-encoded; these feed the pre-roll ring buffer and the clip remuxer;
* :class:`DecodedFrame` — a BGR picture, at most ``analysis_fps`` per second; these feed motion
  gating and detectors.

Each packet carries the :class:`StreamInfo` it belongs to; a new ``StreamInfo`` object (a new
``generation``) means the camera changed codec parameters mid-stream (for example a new SPS with
a new resolution), so a recorder must not mux packets of two generations into one file.

Iteration ends with :class:`SourceError` (or a subclass) when the stream fails; a clean end of a
finite stream simply stops the iteration. Reconnecting is the caller's job (the supervisor).
"""

from __future__ import annotations

import abc
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from fractions import Fraction
from types import TracebackType
from typing import Self

import numpy as np
import numpy.typing as npt

BGRImage = npt.NDArray[np.uint8]


@dataclass(frozen=True, slots=True)
class StreamInfo:
    """Codec parameters of one video stream generation."""

    codec: str  # FFmpeg codec name: "h264", "hevc"
    width: int
    height: int
    time_base: Fraction
    extradata: bytes | None = None
    average_fps: float | None = None
    generation: int = 0


@dataclass(frozen=True, slots=True)
class EncodedPacket:
    """One access unit exactly as the camera sent it (Annex B or AVCC, as FFmpeg delivers it)."""

    data: bytes
    pts: int  # in ``stream.time_base`` units, monotonic within one generation
    dts: int
    is_keyframe: bool
    wallclock: float  # time.time() when the packet was received
    stream: StreamInfo

    @property
    def pts_seconds(self) -> float:
        return float(self.pts * self.stream.time_base)

    @property
    def size(self) -> int:
        return len(self.data)


@dataclass(frozen=True, slots=True)
class DecodedFrame:
    """A decoded picture for analysis (BGR, ``uint8``, shape ``(height, width, 3)``)."""

    image: BGRImage = field(repr=False)
    pts_seconds: float
    wallclock: float

    @property
    def width(self) -> int:
        return int(self.image.shape[1])

    @property
    def height(self) -> int:
        return int(self.image.shape[0])


SourceItem = EncodedPacket | DecodedFrame


class SourceError(Exception):
    """The stream could not be opened or broke; the message is safe to show (no credentials)."""


class SourceUnauthorized(SourceError):
    """The camera refused our credentials (RTSP 401): retrying soon will not help."""


class SourceStalled(SourceError):
    """No packet arrived within the stall time-out."""


class StreamSource(abc.ABC):
    """An open video stream. Use as ``async with source: async for item in source: ...``."""

    info: StreamInfo | None = None  # set by open(), replaced when the stream changes

    @abc.abstractmethod
    async def open(self) -> StreamInfo:
        """Connect and read stream parameters. Raises :class:`SourceError`."""

    @abc.abstractmethod
    async def close(self) -> None:
        """Stop reading and release the connection. Safe to call twice."""

    @abc.abstractmethod
    def __aiter__(self) -> AsyncIterator[SourceItem]:
        """Packets and frames in arrival order."""

    async def __aenter__(self) -> Self:
        await self.open()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.close()
