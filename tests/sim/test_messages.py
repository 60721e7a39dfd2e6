"""RTSP request parsing, response formatting and Transport headers."""

from __future__ import annotations

import pytest

from adapters.sim.rtsp.messages import format_response, parse_head, parse_request, parse_transport

# As sent by FFmpeg 8.1's RTSP demuxer.
FFMPEG_SETUP = (
    b"SETUP rtsp://127.0.0.1:8554/cam/trackID=0 RTSP/1.0\r\n"
    b"Transport: RTP/AVP/TCP;unicast;interleaved=0-1\r\n"
    b"CSeq: 3\r\n"
    b"User-Agent: Lavf62.3.100\r\n"
    b"Session: 0123abcd;timeout=60\r\n"
    b"\r\n"
)


def test_parse_ffmpeg_setup() -> None:
    request = parse_request(FFMPEG_SETUP)
    assert (request.method, request.url, request.version) == (
        "SETUP",
        "rtsp://127.0.0.1:8554/cam/trackID=0",
        "RTSP/1.0",
    )
    assert request.cseq == 3
    assert request.header("TRANSPORT") == "RTP/AVP/TCP;unicast;interleaved=0-1"
    assert request.session_id == "0123abcd"
    assert request.body == b""


def test_parse_body_by_content_length() -> None:
    data = b"GET_PARAMETER rtsp://h/cam RTSP/1.0\r\nCSeq: 9\r\ncontent-length: 5\r\n\r\nhello"
    request = parse_request(data)
    assert (request.content_length, request.body) == (5, b"hello")


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"\r\n\r\n", "empty request"),
        (b"OPTIONS * RTSP/1.0\r\nCSeq: 1\r\n", "request head is not terminated by a blank line"),
        (b"OPTIONS *\r\nCSeq: 1\r\n\r\n", "malformed request line: 'OPTIONS *'"),
        (b"OPTIONS  * RTSP/1.0\r\nCSeq: 1\r\n\r\n", "malformed request line: 'OPTIONS  * RTSP/1.0'"),
        (b"OPTIONS * HTTP/1.1\r\nCSeq: 1\r\n\r\n", "unsupported RTSP version: 'HTTP/1.1'"),
        (b"OPTIONS * RTSP/1.0\r\nCSeq 1\r\n\r\n", "malformed header line: 'CSeq 1'"),
        (b"OPTIONS * RTSP/1.0\r\n CSeq: 1\r\n\r\n", "malformed header line: ' CSeq: 1'"),
        (b"OPTIONS * RTSP/1.0\r\nUser-Agent: x\r\n\r\n", "missing CSeq header"),
        (b"OPTIONS * RTSP/1.0\r\nCSeq: one\r\n\r\n", "invalid CSeq: 'one'"),
        (b"OPTIONS * RTSP/1.0\r\nCSeq: 1\r\nContent-Length: -1\r\n\r\n", "invalid Content-Length: '-1'"),
        (
            b"OPTIONS * RTSP/1.0\r\nCSeq: 1\r\nContent-Length: 4\r\n\r\nab",
            "body length mismatch: Content-Length 4, got 2 bytes",
        ),
        (b"OPTIONS * RTSP/1.0\r\nCSeq: \xff\r\n\r\n", "request head is not valid UTF-8"),
    ],
)
def test_parse_errors(data: bytes, message: str) -> None:
    with pytest.raises(ValueError) as info:
        parse_request(data)
    assert str(info.value) == message


def test_parse_head_accepts_trailing_blank_line() -> None:
    assert parse_head(b"PLAY rtsp://h/cam/ RTSP/1.0\r\nCSeq: 5\r\n\r\n").cseq == 5


def test_format_response() -> None:
    assert format_response(200, 4, {"Public": "OPTIONS"}) == (
        b"RTSP/1.0 200 OK\r\nCSeq: 4\r\nPublic: OPTIONS\r\n\r\n"
    )
    assert format_response(461, 2) == b"RTSP/1.0 461 Unsupported Transport\r\nCSeq: 2\r\n\r\n"
    assert format_response(400, None, body=b"x") == b"RTSP/1.0 400 Bad Request\r\nContent-Length: 1\r\n\r\nx"


def test_parse_transport_alternatives() -> None:
    udp, tcp = parse_transport("RTP/AVP;unicast;client_port=5000-5001, RTP/AVP/TCP;unicast;interleaved=2-3")
    assert (udp.is_tcp, udp.unicast, udp.client_port, udp.interleaved) == (False, True, (5000, 5001), None)
    assert (tcp.is_tcp, tcp.interleaved) == (True, (2, 3))
    (multicast,) = parse_transport("RTP/AVP;multicast")
    assert not multicast.unicast


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("RTP/AVP;unicast,", "empty transport in 'RTP/AVP;unicast,'"),
        ("RAW/RAW/UDP;unicast", "unsupported transport protocol: 'RAW/RAW/UDP'"),
        ("RTP/AVP/TCP;interleaved=a-b", "invalid interleaved: 'a-b'"),
        ("RTP/AVP;client_port=5000-", "invalid client_port: '5000-'"),
    ],
)
def test_parse_transport_errors(value: str, message: str) -> None:
    with pytest.raises(ValueError) as info:
        parse_transport(value)
    assert str(info.value) == message


def test_format_response_repeats_a_header_for_each_value() -> None:
    response = format_response(
        401, 3, {"WWW-Authenticate": ('Digest realm="r", nonce="n"', 'Basic realm="r"')}
    )
    assert response == (
        b"RTSP/1.0 401 Unauthorized\r\nCSeq: 3\r\n"
        b'WWW-Authenticate: Digest realm="r", nonce="n"\r\nWWW-Authenticate: Basic realm="r"\r\n\r\n'
    )
