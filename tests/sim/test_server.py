"""The RTSP server: protocol answers on a raw socket, then real FFmpeg clients through PyAV."""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import socket
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path

import av
import av.logging
import pytest

from adapters.sim.media import Media, load_media
from adapters.sim.rtsp.rtp import parse_rtp_header
from adapters.sim.rtsp.server import RtspServer
from adapters.sim.synthetic import write_synthetic_scene

SAMPLE = Path("/work/shared/samples/pets2009-vtest-480x360-10fps.mp4")
TCP = "RTP/AVP/TCP;unicast;interleaved=0-1"


@pytest.fixture(scope="module")
def sliced(tmp_path_factory: pytest.TempPathFactory) -> Media:
    """4 s, 1 s GOP (short join wait), 4 slices per picture, so a 3 s read crosses a loop."""
    path = tmp_path_factory.mktemp("server") / "sliced.mp4"
    write_synthetic_scene(path, seconds=4.0, gop_seconds=1.0, slices=4, preset="ultrafast")
    return load_media(path)


@pytest.fixture
async def server(sliced: Media) -> AsyncIterator[RtspServer]:
    server = RtspServer()
    server.add_stream("cam", sliced)
    await server.start()
    yield server
    await server.stop()


@dataclass
class RawClient:
    """A hand-driven RTSP client that keeps the interleaved frames it reads past."""

    reader: asyncio.StreamReader
    writer: asyncio.StreamWriter
    cseq: int = 0
    frames: list[tuple[int, bytes]] = field(default_factory=list)

    async def request(self, method: str, url: str, **headers: str) -> tuple[int, dict[str, str], bytes]:
        self.cseq += 1
        lines = [f"{method} {url} RTSP/1.0", f"CSeq: {self.cseq}"]
        lines += [f"{name.replace('_', '-')}: {value}" for name, value in headers.items()]
        self.writer.write(("\r\n".join(lines) + "\r\n\r\n").encode())
        return await self.response()

    async def response(self) -> tuple[int, dict[str, str], bytes]:
        while (first := await self.reader.readexactly(1)) == b"$":
            await self.frame()
        head = (first + await self.reader.readuntil(b"\r\n\r\n")).decode()
        status_line, *header_lines = head.strip().split("\r\n")
        headers = dict(line.split(": ", 1) for line in header_lines)
        body = await self.reader.readexactly(int(headers.get("Content-Length", "0")))
        return int(status_line.split(" ")[1]), headers, body

    async def frame(self) -> None:
        header = await self.reader.readexactly(3)
        self.frames.append((header[0], await self.reader.readexactly(int.from_bytes(header[1:], "big"))))

    async def read_frame(self) -> tuple[int, bytes]:
        assert await self.reader.readexactly(1) == b"$"
        await self.frame()
        return self.frames[-1]


@pytest.fixture
async def client(server: RtspServer) -> AsyncIterator[RawClient]:
    reader, writer = await asyncio.open_connection("127.0.0.1", server.port)
    yield RawClient(reader, writer)
    writer.close()


async def test_options_describe_and_errors(server: RtspServer, client: RawClient) -> None:
    url = server.url("cam")
    status, headers, _ = await client.request("OPTIONS", url)
    assert (status, headers["CSeq"]) == (200, "1")
    assert headers["Public"] == "OPTIONS, DESCRIBE, SETUP, PLAY, TEARDOWN, GET_PARAMETER"
    status, headers, body = await client.request("DESCRIBE", url, Accept="application/sdp")
    assert (status, headers["Content-Type"], headers["Content-Base"]) == (200, "application/sdp", url + "/")
    assert "a=fmtp:96 packetization-mode=1;profile-level-id=" in body.decode()
    assert (await client.request("DESCRIBE", server.url("nope")))[0] == 404
    assert (await client.request("SETUP", url + "/trackID=1", Transport=TCP))[0] == 404
    assert (
        await client.request("SETUP", url + "/trackID=0", Transport="RTP/AVP;unicast;client_port=5000-5001")
    )[0] == 461
    assert (await client.request("SETUP", url + "/trackID=0"))[0] == 400
    assert (await client.request("SETUP", url + "/trackID=0", Transport="bogus"))[0] == 400
    assert (await client.request("PLAY", url + "/"))[0] == 455
    assert (await client.request("PLAY", url + "/", Session="feedface"))[0] == 454
    assert (await client.request("TEARDOWN", url + "/", Session="feedface"))[0] == 454
    assert (await client.request("GET_PARAMETER", url + "/"))[0] == 200
    assert (await client.request("RECORD", url))[0] == 501
    client.writer.write(b"garbage\r\n\r\n")
    assert await client.response() == (400, {}, b"")


async def test_setup_play_stream_and_teardown(server: RtspServer, client: RawClient) -> None:
    url = server.url("cam")
    status, headers, _ = await client.request("SETUP", url + "/trackID=0", Transport=TCP)
    assert status == 200
    session_id, timeout = headers["Session"].split(";")
    assert timeout == "timeout=60"
    assert headers["Transport"].startswith(TCP + ";ssrc=")
    status, headers, _ = await client.request("PLAY", url + "/", Session=session_id)
    assert (status, headers["Range"]) == (200, "npt=0.000-")
    info = dict(item.split("=", 1) for item in headers["RTP-Info"].split(";"))
    assert info["url"] == url + "/trackID=0"
    # An RTCP sender report comes first, then the keyframe access unit: SPS first, one
    # timestamp, marker on its last packet only.
    channel, report = await client.read_frame()
    assert (channel, report[1]) == (1, 200)
    channel, packet = await client.read_frame()
    first = parse_rtp_header(packet)
    assert (channel, first.seq, first.timestamp) == (0, int(info["seq"]), int(info["rtptime"]))
    assert packet[12] & 0x1F == 7
    rtp = [packet]
    while not parse_rtp_header(rtp[-1]).marker:
        channel, packet = await client.read_frame()
        assert channel == 0
        rtp.append(packet)
    assert {parse_rtp_header(p).timestamp for p in rtp} == {first.timestamp}
    assert [parse_rtp_header(p).seq for p in rtp] == [(first.seq + i) % 65536 for i in range(len(rtp))]
    assert len(rtp) > 4 and all(len(p) <= 12 + 1400 for p in rtp)  # 4 slices of ~10 kB: FU-A
    second = parse_rtp_header((await client.read_frame())[1])
    assert (second.timestamp - first.timestamp) % 2**32 == 9000
    status, _, _ = await client.request("TEARDOWN", url + "/", Session=session_id)
    assert status == 200
    assert (await client.request("PLAY", url + "/", Session=session_id))[0] == 454


@dataclass
class Received:
    width: int
    height: int
    packets: list[tuple[int | None, bool, list[int]]]  # pts, keyframe, NAL types
    frames: int


def read_with_ffmpeg(url: str, count: int) -> Received:
    """Read ``count`` packets and decode them as the hub's RTSP source does (blocking)."""
    options = {"rtsp_transport": "tcp", "timeout": "5000000"}
    packets: list[tuple[int | None, bool, list[int]]] = []
    frames = 0
    with av.open(url, options=options) as container:
        stream = container.streams.video[0]
        for packet in container.demux(stream):
            nals = [nal[0] & 0x1F for nal in bytes(packet).split(b"\x00\x00\x01")[1:] if nal]
            packets.append((packet.pts, packet.is_keyframe, nals))
            frames += len(stream.codec_context.decode(packet))
            if len(packets) == count:
                break
        frames += len(stream.codec_context.decode(None))
        return Received(stream.codec_context.width, stream.codec_context.height, packets, frames)


async def read_clients(urls: list[str], count: int) -> tuple[list[Received], list[str]]:
    previous = av.logging.get_level()
    av.logging.set_level(av.logging.WARNING)
    try:
        with av.logging.Capture(local=False) as logs:
            received = await asyncio.gather(*(asyncio.to_thread(read_with_ffmpeg, u, count) for u in urls))
    finally:
        av.logging.set_level(previous)
    errors = [f"{name}: {message}" for level, name, message in logs if level <= av.logging.ERROR]
    return list(received), errors


def assert_live_stream(received: Received, width: int, height: int, slices: int) -> None:
    assert (received.width, received.height) == (width, height)
    assert received.frames == len(received.packets) == 30
    # FFmpeg 8.1 delivers one packet per access unit (its parser joins the slices); the first
    # packet, a keyframe, has no pts; the rest step by one frame in the 90 kHz time base.
    first_pts, first_key, first_nals = received.packets[0]
    assert (first_pts, first_key) == (None, True)
    assert first_nals[:2] == [7, 8]
    assert first_nals[2:].count(5) == slices
    for _pts, _key, nals in received.packets[1:]:
        assert sum(n in (1, 5) for n in nals) == slices
    pts = [p for p, _, _ in received.packets[1:] if p is not None]
    assert len(pts) == 29
    assert {b - a for a, b in itertools.pairwise(pts)} == {9000}


async def test_two_ffmpeg_clients_get_the_multi_slice_stream(server: RtspServer) -> None:
    started = time.monotonic()
    received, errors = await read_clients([server.url("cam"), server.url("cam")], 30)
    assert errors == []
    for one in received:
        assert_live_stream(one, 640, 360, slices=4)
    assert time.monotonic() - started < 12


@pytest.mark.skipif(not SAMPLE.exists(), reason="shared sample video not present")
async def test_ffmpeg_reads_the_real_sample() -> None:
    media = await asyncio.get_running_loop().run_in_executor(None, load_media, SAMPLE)
    server = RtspServer()
    server.add_stream("/pets/", media)
    await server.start()
    try:
        (received,), errors = await read_clients([server.url("pets")], 30)
    finally:
        await server.stop()
    assert errors == []
    assert_live_stream(received, 480, 360, slices=1)


async def play(client: RawClient, url: str) -> None:
    status, headers, _ = await client.request("SETUP", url + "/trackID=0", Transport=TCP)
    assert status == 200
    status, _, _ = await client.request("PLAY", url + "/", Session=headers["Session"].split(";")[0])
    assert status == 200


async def test_slow_client_is_dropped_without_blocking_others(sliced: Media) -> None:
    server = RtspServer(max_client_buffer=0, max_drop_seconds=0.5, send_buffer=4096)
    server.add_stream("cam", sliced)
    await server.start()
    try:
        slow_socket = socket.socket()
        slow_socket.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        slow_socket.connect(("127.0.0.1", server.port))
        slow = RawClient(*await asyncio.open_connection(sock=slow_socket, limit=1024))
        good = RawClient(*await asyncio.open_connection("127.0.0.1", server.port))
        await play(slow, server.url("cam"))
        slow.writer.transport.pause_reading()  # type: ignore[attr-defined]
        await play(good, server.url("cam"))
        seqs: list[int] = []
        started = time.monotonic()
        async with asyncio.timeout(5):
            # The slow client reads nothing for 2 s: it falls behind at the first keyframe
            # (within 1 s), the server drops its pictures and closes it 0.5 s later.
            while time.monotonic() - started < 2.0:
                channel, packet = await good.read_frame()
                if channel == 0:
                    seqs.append(parse_rtp_header(packet).seq)
            assert len(seqs) > 60
            assert seqs == [(seqs[0] + i) % 65536 for i in range(len(seqs))]
            slow.writer.transport.resume_reading()  # type: ignore[attr-defined]
            with contextlib.suppress(ConnectionResetError):  # the server aborts the socket
                while await slow.reader.read(65536):
                    pass
        good.writer.close()
        slow.writer.close()
    finally:
        await server.stop()
