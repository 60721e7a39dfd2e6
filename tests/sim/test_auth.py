"""RTSP Basic and Digest authentication: the pure checks, raw requests, and FFmpeg with credentials."""

from __future__ import annotations

import asyncio
import re
from collections.abc import AsyncIterator

import av
import pytest

from adapters.sim.media import Media
from adapters.sim.rtsp.auth import Authenticator, basic_token, digest_response, parse_authorization
from adapters.sim.rtsp.server import RtspServer
from tests.sim.rtsp_client import QUICK_CLIP, RawClient, read_with_ffmpeg, scene_media

REALM = "Sharp Eyes camera simulator"


def test_digest_response_matches_rfc_2617_example() -> None:
    common = {"username": "Mufasa", "realm": "testrealm@host.com", "password": "Circle Of Life"}
    response = digest_response(
        **common,
        method="GET",
        uri="/dir/index.html",
        nonce="dcd98b7102dd2f0e8b11d0f600bfb0c093",
        qop="auth",
        nc="00000001",
        cnonce="0a4f113b",
    )
    assert response == "6629fae49393a05397450978507c4ef1"  # RFC 2617 §3.5
    with pytest.raises(ValueError, match=r"^unsupported Digest qop: 'auth-int'$"):
        digest_response(**common, method="GET", uri="/", nonce="n", qop="auth-int")


def test_parse_authorization() -> None:
    header = (
        'Digest username="admin", realm="r", nonce="abc", uri="rtsp://h/cam", response="ff", algorithm=MD5'
    )
    assert parse_authorization(header) == (
        "digest",
        {
            "username": "admin",
            "realm": "r",
            "nonce": "abc",
            "uri": "rtsp://h/cam",
            "response": "ff",
            "algorithm": "MD5",
        },
    )
    assert parse_authorization("Basic YWRtaW46c2VjcmV0") == ("basic", "YWRtaW46c2VjcmV0")


@pytest.mark.parametrize(
    ("header", "message"),
    [
        ("Bearer abc", "unsupported authorization scheme: 'bearer'"),
        ("Basic ", "empty Basic credentials"),
        ('Digest username="a", realm="r"', "Digest credentials miss nonce, uri, response"),
        ('Digest username="a" realm', "malformed Digest parameters at offset 0: 'username=\"a\" realm'"),
    ],
)
def test_parse_authorization_errors(header: str, message: str) -> None:
    with pytest.raises(ValueError) as info:
        parse_authorization(header)
    assert str(info.value) == message


def _digest_header(auth: Authenticator, password: str, method: str, uri: str, nonce: str) -> str:
    response = digest_response(
        username="admin", realm=auth.realm, password=password, method=method, uri=uri, nonce=nonce
    )
    return (
        f'Digest username="admin", realm="{auth.realm}", nonce="{nonce}", uri="{uri}", response="{response}"'
    )


def test_authenticator_checks() -> None:
    auth = Authenticator(("admin", "secret"), "any")
    url = "rtsp://127.0.0.1:554/cam"
    nonce = auth.new_nonce()
    assert auth.check("DESCRIBE", url, _digest_header(auth, "secret", "DESCRIBE", url, nonce))
    assert auth.check("DESCRIBE", url, _digest_header(auth, "secret", "DESCRIBE", "/cam", nonce))  # path only
    assert not auth.check("DESCRIBE", url, _digest_header(auth, "wrong", "DESCRIBE", url, nonce))
    assert not auth.check("SETUP", url, _digest_header(auth, "secret", "DESCRIBE", url, nonce))  # method
    assert not auth.check("DESCRIBE", url, _digest_header(auth, "secret", "DESCRIBE", url + "2", nonce))
    forged = "0" * 32
    assert not auth.check("DESCRIBE", url, _digest_header(auth, "secret", "DESCRIBE", url, forged))
    assert auth.check("PLAY", url, "Basic " + basic_token("admin", "secret"))
    assert not auth.check("PLAY", url, "Basic " + basic_token("admin", "secrets"))
    assert not auth.check("PLAY", url, "Basic !!!")
    assert not auth.check("PLAY", url, None)
    assert not Authenticator(("admin", "secret"), "digest").check(
        "PLAY", url, "Basic " + basic_token("admin", "secret")
    )
    with pytest.raises(ValueError, match=r"^unknown auth mode 'ntlm' \(known: digest, basic, any\)$"):
        Authenticator(("a", "b"), "ntlm")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match=r"^auth='basic' needs credentials$"):
        RtspServer(auth="basic")


@pytest.fixture(scope="module")
def media(tmp_path_factory: pytest.TempPathFactory) -> Media:
    return scene_media(tmp_path_factory, **QUICK_CLIP)


@pytest.fixture(params=["digest", "basic", "any"])
async def server(media: Media, request: pytest.FixtureRequest) -> AsyncIterator[RtspServer]:
    server = RtspServer(credentials=("admin", "secret"), auth=request.param)
    server.add_stream("cam", media)
    await server.start()
    yield server
    await server.stop()


async def test_raw_client_is_challenged_then_let_in(server: RtspServer) -> None:
    client = await RawClient.connect(server.port)
    url = server.url("cam")
    assert (await client.request("OPTIONS", url))[0] == 200  # open, as on most cameras
    status, headers, _ = await client.request("DESCRIBE", url)
    assert status == 401
    challenges = headers["WWW-Authenticate"].split(" | ")
    mode = server._methods._auth.mode  # type: ignore[union-attr]
    digest = [c for c in challenges if c.startswith("Digest")]
    assert [c.split(" ")[0] for c in challenges] == {
        "digest": ["Digest"], "basic": ["Basic"], "any": ["Digest", "Basic"]
    }[mode]  # fmt: skip
    assert f'realm="{REALM}"' in challenges[0]
    if digest:
        nonce = re.search(r'nonce="([0-9a-f]+)"', digest[0])
        assert nonce is not None
        auth = server._methods._auth
        assert auth is not None
        good = _digest_header(auth, "secret", "DESCRIBE", url, nonce[1])
        bad = _digest_header(auth, "wrong", "DESCRIBE", url, nonce[1])
    else:
        good, bad = "Basic " + basic_token("admin", "secret"), "Basic " + basic_token("admin", "wrong")
    assert (await client.request("DESCRIBE", url, Authorization=bad))[0] == 401
    status, headers, body = await client.request("DESCRIBE", url, Authorization=good)
    assert (status, headers["Content-Type"]) == (200, "application/sdp")
    assert body.startswith(b"v=0\r\n")
    client.close()


async def test_ffmpeg_with_credentials(server: RtspServer) -> None:
    url = server.url("cam").replace("rtsp://", "rtsp://admin:secret@")
    received = await asyncio.to_thread(read_with_ffmpeg, url, 5)
    assert (received.error, len(received.frames), received.width) == (None, 5, 320)


async def test_ffmpeg_with_a_wrong_password_is_refused(server: RtspServer) -> None:
    url = server.url("cam").replace("rtsp://", "rtsp://admin:wrong@")
    with pytest.raises(av.error.HTTPUnauthorizedError):
        await asyncio.to_thread(read_with_ffmpeg, url, 5)
    with pytest.raises(av.error.HTTPUnauthorizedError):
        await asyncio.to_thread(read_with_ffmpeg, server.url("cam"), 5)  # none at all
