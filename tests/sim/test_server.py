"""The RTSP server: protocol answers on a raw socket, then real FFmpeg clients through PyAV."""

from __future__ import annotations

import asyncio
import contextlib
import socket
import time
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from adapters.sim.media import Media, load_media
from adapters.sim.rtsp.rtp import parse_rtp_header
from adapters.sim.rtsp.server import RtspServer
from tests.sim.rtsp_client import TCP, RawClient, assert_live_stream, read_clients, scene_media

SAMPLE = Path("/work/shared/samples/pets2009-vtest-480x360-10fps.mp4")


@pytest.fixture(scope="module")
def sliced(tmp_path_factory: pytest.TempPathFactory) -> Media:
    """4 s, 1 s GOP (short join wait), 4 slices per picture, so a 3 s read crosses a loop."""
    return scene_media(tmp_path_factory, seconds=4.0, gop_seconds=1.0, slices=4, preset="ultrafast")


@pytest.fixture
async def server(sliced: Media) -> AsyncIterator[RtspServer]:
    server = RtspServer()
    server.add_stream("cam", sliced)
    await server.start()
    yield server
    await server.stop()


@pytest.fixture
async def client(server: RtspServer) -> AsyncIterator[RawClient]:
    client = await RawClient.connect(server.port)
    yield client
    client.close()


async def test_options_describe_and_errors(server: RtspServer, client: RawClient) -> None:
    url = server.url("cam")
    status, headers, _ = await client.request("OPTIONS", url)
    assert (status, headers["CSeq"]) == (200, "1")
    assert headers["Public"] == "OPTIONS, DESCRIBE, SETUP, PLAY, PAUSE, TEARDOWN, GET_PARAMETER"
    status, headers, body = await client.request("DESCRIBE", url, Accept="application/sdp")
    assert (status, headers["Content-Type"], headers["Content-Base"]) == (200, "application/sdp", url + "/")
    assert "a=fmtp:96 packetization-mode=1;profile-level-id=" in body.decode()
    assert (await client.request("DESCRIBE", server.url("nope")))[0] == 404
    assert (await client.request("SETUP", url + "/trackID=1", Transport=TCP))[0] == 404
    assert (await client.request("SETUP", url + "/trackID=0", Transport="RTP/AVP;multicast;port=5000-5001"))[
        0
    ] == 461
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
        await slow.play(server.url("cam"))
        slow.writer.transport.pause_reading()  # type: ignore[attr-defined]
        await good.play(server.url("cam"))
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
