"""Shared by the simulator's RTSP tests: a hand-driven RTSP client, FFmpeg readers, cached clips."""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import av
import av.logging
import pytest

from adapters.sim.media import Media, load_media
from adapters.sim.substream import encoder_available, make_substream
from adapters.sim.synthetic import write_synthetic_scene

TCP = "RTP/AVP/TCP;unicast;interleaved=0-1"
# A small clip with a keyframe every 0.5 s, so that clients join and versions switch quickly.
QUICK_CLIP: dict[str, Any] = {
    "width": 320,
    "height": 180,
    "seconds": 4.0,
    "gop_seconds": 0.5,
    "preset": "ultrafast",
}
_CLIPS: dict[tuple[tuple[str, Any], ...], Path] = {}
_MEDIA: dict[Path, Media] = {}


def scene_clip(factory: pytest.TempPathFactory, **options: Any) -> Path:
    """A synthetic H.264 clip, written once per test session for each set of options."""
    key = tuple(sorted(options.items()))
    if key not in _CLIPS:
        path = factory.mktemp("clip") / "scene.mp4"
        write_synthetic_scene(path, **options)
        _CLIPS[key] = path
    return _CLIPS[key]


def scene_media(factory: pytest.TempPathFactory, **options: Any) -> Media:
    """:func:`scene_clip`, loaded once."""
    path = scene_clip(factory, **options)
    if path not in _MEDIA:
        _MEDIA[path] = load_media(path)
    return _MEDIA[path]


def hevc_clip(factory: pytest.TempPathFactory, **options: Any) -> Path:
    """:func:`scene_clip` re-encoded to H.265 with libx265 (skips the test without libx265)."""
    if not encoder_available("hevc"):
        pytest.skip("this FFmpeg build has no libx265 encoder: H.265 is not tested")
    source = scene_clip(factory, **options)
    with av.open(str(source)) as container:
        width, height = container.streams.video[0].width, container.streams.video[0].height
    return make_substream(source, source.with_name("scene-hevc.mp4"), width, height, codec="hevc")


Response = tuple[int, dict[str, str], bytes]


@dataclass
class RawClient:
    """A hand-driven RTSP client that keeps the interleaved frames it reads past."""

    reader: asyncio.StreamReader
    writer: asyncio.StreamWriter
    cseq: int = 0
    frames: list[tuple[int, bytes]] = field(default_factory=list)

    @classmethod
    async def connect(cls, port: int) -> RawClient:
        return cls(*await asyncio.open_connection("127.0.0.1", port))

    async def request(self, method: str, url: str, **headers: str) -> Response:
        self.cseq += 1
        lines = [f"{method} {url} RTSP/1.0", f"CSeq: {self.cseq}"]
        lines += [f"{name.replace('_', '-')}: {value}" for name, value in headers.items()]
        self.writer.write(("\r\n".join(lines) + "\r\n\r\n").encode())
        return await self.response()

    async def response(self) -> Response:
        while (first := await self.reader.readexactly(1)) == b"$":
            await self.frame()
        head = (first + await self.reader.readuntil(b"\r\n\r\n")).decode()
        status_line, *header_lines = head.strip().split("\r\n")
        headers: dict[str, str] = {}
        for line in header_lines:  # repeated headers (WWW-Authenticate) are joined with " | "
            name, value = line.split(": ", 1)
            headers[name] = f"{headers[name]} | {value}" if name in headers else value
        body = await self.reader.readexactly(int(headers.get("Content-Length", "0")))
        return int(status_line.split(" ")[1]), headers, body

    async def frame(self) -> None:
        header = await self.reader.readexactly(3)
        self.frames.append((header[0], await self.reader.readexactly(int.from_bytes(header[1:], "big"))))

    async def read_frame(self) -> tuple[int, bytes]:
        assert await self.reader.readexactly(1) == b"$"
        await self.frame()
        return self.frames[-1]

    async def play(self, url: str, transport: str = TCP) -> str:
        """SETUP and PLAY; the session id."""
        status, headers, _ = await self.request("SETUP", url + "/trackID=0", Transport=transport)
        assert status == 200
        session = headers["Session"].split(";")[0]
        status, _, _ = await self.request("PLAY", url + "/", Session=session)
        assert status == 200
        return session

    def close(self) -> None:
        self.writer.close()


@dataclass
class Received:
    width: int
    height: int
    packets: list[tuple[int | None, bool, list[int]]]  # pts, keyframe, H.264 NAL types
    frames: list[av.VideoFrame]
    error: Exception | None = None  # what ended the read early
    decode_errors: int = 0  # packets the decoder refused (the read goes on)


def read_with_ffmpeg(
    url: str,
    count: int,
    *,
    transport: str = "tcp",
    timeout_s: float = 5.0,
    on_packet: Callable[[int], None] | None = None,
    fast_open: bool = True,
) -> Received:
    """Read ``count`` packets and decode them as the hub's RTSP source does (blocking).

    An error while reading (not while opening) ends the read and is kept in ``error``;
    ``on_packet(n)`` runs after the n-th packet (1-based), to change faults mid-stream.
    """
    options = {"rtsp_transport": transport, "timeout": str(int(timeout_s * 1_000_000))}
    if fast_open:  # the SDP has all FFmpeg needs: do not buffer seconds of stream to probe it
        options |= {"probesize": "32", "analyzeduration": "0"}
    packets: list[tuple[int | None, bool, list[int]]] = []
    frames: list[av.VideoFrame] = []
    decode_errors = 0
    with av.open(url, options=options, timeout=timeout_s) as container:
        stream = container.streams.video[0]
        try:
            for packet in container.demux(stream):
                if packet.size == 0:
                    break  # end of stream
                nals = [nal[0] & 0x1F for nal in bytes(packet).split(b"\x00\x00\x01")[1:] if nal]
                packets.append((packet.pts, packet.is_keyframe, nals))
                try:
                    frames += stream.codec_context.decode(packet)
                except av.error.InvalidDataError:
                    decode_errors += 1
                if on_packet is not None:
                    on_packet(len(packets))
                if len(packets) == count:
                    break
            frames += stream.codec_context.decode(None)
        except (av.error.FFmpegError, OSError) as err:
            error: Exception | None = err
        else:
            error = None
        width, height = stream.codec_context.width, stream.codec_context.height
        return Received(width, height, packets, frames, error, decode_errors)


async def read_clients(
    urls: list[str], count: int, *, transports: list[str] | None = None, **options: Any
) -> tuple[list[Received], list[str]]:
    """Read every URL at once in threads (over TCP, or ``transports[i]``); FFmpeg's ERROR messages."""
    previous = av.logging.get_level()
    av.logging.set_level(av.logging.WARNING)
    modes = transports or ["tcp"] * len(urls)
    try:
        with av.logging.Capture(local=False) as logs:
            received = await asyncio.gather(
                *(
                    asyncio.to_thread(read_with_ffmpeg, url, count, transport=mode, **options)
                    for url, mode in zip(urls, modes, strict=True)
                )
            )
    finally:
        av.logging.set_level(previous)
    errors = [f"{name}: {message}" for level, name, message in logs if level <= av.logging.ERROR]
    return list(received), errors


def assert_live_stream(received: Received, width: int, height: int, slices: int, count: int = 30) -> None:
    assert received.error is None
    assert (received.width, received.height) == (width, height)
    assert len(received.frames) == len(received.packets) == count
    # FFmpeg 8.1 delivers one packet per access unit (its parser joins the slices); the first
    # packet, a keyframe, has no pts; the rest step by one frame in the 90 kHz time base.
    first_pts, first_key, first_nals = received.packets[0]
    assert (first_pts, first_key) == (None, True)
    assert first_nals[:2] == [7, 8]
    assert first_nals[2:].count(5) == slices
    for _pts, _key, nals in received.packets[1:]:
        assert sum(n in (1, 5) for n in nals) == slices
    pts = [p for p, _, _ in received.packets[1:] if p is not None]
    assert len(pts) == count - 1
    assert {b - a for a, b in itertools.pairwise(pts)} == {9000}


def pts_steps(received: Received) -> list[int]:
    pts = [p for p, _, _ in received.packets if p is not None]
    return [b - a for a, b in itertools.pairwise(pts)]
