"""RTP over UDP unicast, PAUSE, and the session time-out, with a raw client and with FFmpeg."""

from __future__ import annotations

import asyncio
import socket
import time
from collections.abc import AsyncIterator, Iterator

import pytest

from adapters.sim.media import Media
from adapters.sim.rtsp.rtp import parse_rtp_header
from adapters.sim.rtsp.server import RtspServer
from tests.sim.rtsp_client import QUICK_CLIP, TCP, RawClient, assert_live_stream, read_clients, scene_media


@pytest.fixture(scope="module")
def media(tmp_path_factory: pytest.TempPathFactory) -> Media:
    return scene_media(tmp_path_factory, **QUICK_CLIP)


@pytest.fixture(params=[60])
async def server(media: Media, request: pytest.FixtureRequest) -> AsyncIterator[RtspServer]:
    server = RtspServer(session_timeout=request.param)
    server.add_stream("cam", media)
    await server.start()
    yield server
    await server.stop()


short_timeout = pytest.mark.parametrize("server", [1], indirect=True)


class UdpPorts:
    """A client's RTP/RTCP socket pair, read from the test through the event loop."""

    def __init__(self) -> None:
        self.rtp = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.rtp.bind(("127.0.0.1", 0))
        self.rtcp = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.rtcp.bind(("127.0.0.1", 0))
        for sock in (self.rtp, self.rtcp):
            sock.setblocking(False)
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1 << 20)

    @property
    def transport(self) -> str:
        return f"RTP/AVP;unicast;client_port={self.rtp.getsockname()[1]}-{self.rtcp.getsockname()[1]}"

    async def recv(self, sock: socket.socket, wait_s: float = 2.0) -> bytes:
        async with asyncio.timeout(wait_s):
            return await asyncio.get_running_loop().sock_recv(sock, 2048)

    def drain(self) -> int:
        count = 0
        while True:
            try:
                self.rtp.recv(2048)
            except BlockingIOError:
                return count
            count += 1

    def close(self) -> None:
        self.rtp.close()
        self.rtcp.close()


@pytest.fixture
def ports() -> Iterator[UdpPorts]:
    ports = UdpPorts()
    yield ports
    ports.close()


async def test_udp_setup_play_pause_resume_teardown(server: RtspServer, ports: UdpPorts) -> None:
    client = await RawClient.connect(server.port)
    url = server.url("cam")
    status, headers, _ = await client.request("SETUP", url + "/trackID=0", Transport=ports.transport)
    assert status == 200
    rtp_port, rtcp_port = server.udp_ports
    assert (rtp_port % 2, rtcp_port) == (0, rtp_port + 1)
    assert headers["Transport"].startswith(f"{ports.transport};server_port={rtp_port}-{rtcp_port};ssrc=")
    session = headers["Session"].split(";")[0]
    status, headers, _ = await client.request("PLAY", url + "/", Session=session)
    info = dict(item.split("=", 1) for item in headers["RTP-Info"].split(";"))
    report = await ports.recv(ports.rtcp)  # the sender report goes to client_port + 1
    assert report[1] == 200
    first = await ports.recv(ports.rtp)
    header = parse_rtp_header(first)
    assert (header.seq, header.timestamp, first[12] & 0x1F) == (int(info["seq"]), int(info["rtptime"]), 7)
    packets = [first] + [await ports.recv(ports.rtp) for _ in range(20)]
    assert [parse_rtp_header(p).seq for p in packets] == [(header.seq + i) % 65536 for i in range(21)]

    status, headers, _ = await client.request("PAUSE", url + "/", Session=session)
    assert (status, headers["Session"]) == (200, f"{session};timeout=60")
    await asyncio.sleep(0.3)
    ports.drain()
    await asyncio.sleep(0.5)
    assert ports.drain() == 0  # nothing is sent while paused

    assert (await client.request("PLAY", url + "/", Session=session))[0] == 200
    resumed = await ports.recv(ports.rtp, wait_s=2.0)
    assert resumed[12] & 0x1F == 7  # at the next keyframe, SPS first
    assert (await client.request("TEARDOWN", url + "/", Session=session))[0] == 200
    await asyncio.sleep(0.3)
    ports.drain()
    await asyncio.sleep(0.4)
    assert ports.drain() == 0
    client.close()


async def test_ffmpeg_reads_over_udp(server: RtspServer) -> None:
    (received,), errors = await read_clients([server.url("cam")], 10, transports=["udp"])
    assert errors == []
    assert_live_stream(received, 320, 180, slices=1, count=10)


@short_timeout
async def test_udp_session_times_out_without_rtcp_or_requests(server: RtspServer, ports: UdpPorts) -> None:
    client = await RawClient.connect(server.port)
    url = server.url("cam")
    session = await client.play(url, transport=ports.transport)
    await ports.recv(ports.rtp)
    started = time.monotonic()
    # RTCP receiver reports from the client keep the session alive past its 1 s time-out...
    while time.monotonic() - started < 1.5:
        ports.rtcp.sendto(b"\x81\xc9\x00\x01\x00\x00\x00\x01", ("127.0.0.1", server.udp_ports[1]))
        await asyncio.sleep(0.3)
    ports.drain()
    assert await ports.recv(ports.rtp)
    # ... and without them it is dropped (within the time-out and the 0.25 s check interval),
    # while the control connection stays open.
    await asyncio.sleep(1.4)
    ports.drain()
    await asyncio.sleep(0.3)
    assert ports.drain() == 0
    assert (await client.request("GET_PARAMETER", url + "/", Session=session))[0] == 454
    client.close()


@short_timeout
async def test_tcp_session_times_out_without_requests(server: RtspServer) -> None:
    client = await RawClient.connect(server.port)
    url = server.url("cam")
    session = await client.play(url, transport=TCP)
    started = time.monotonic()
    while time.monotonic() - started < 1.2:  # any request on the connection is a keep-alive
        assert (await client.request("OPTIONS", url))[0] == 200
        await asyncio.sleep(0.4)
    assert (await client.request("GET_PARAMETER", url + "/", Session=session))[0] == 200
    last_request = time.monotonic()
    async with asyncio.timeout(3.0):
        while await client.reader.read(65536):  # no more requests: the server closes the connection
            pass
    assert 1.0 <= time.monotonic() - last_request < 1.6
