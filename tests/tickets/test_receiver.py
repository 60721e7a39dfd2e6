"""The stand-in grid receiver checks signatures and dedupes, as the real one must."""

from __future__ import annotations

import json
import time

import httpx
import pytest

from hub.tickets.receiver import GridReceiver, create_receiver_app
from hub.tickets.signing import SIGNATURE_HEADER, sign
from tests.tickets import SECRET

BODY = json.dumps({"schema": "sharp-eyes.ticket/v1", "ticket_id": "t-1"}).encode()


def _headers(body: bytes = BODY, secret: bytes = SECRET, key: str = "t-1") -> dict[str, str]:
    return {"Idempotency-Key": key, SIGNATURE_HEADER: sign(body, secret, int(time.time()))}


async def _client() -> httpx.AsyncClient:
    app = create_receiver_app(SECRET)
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://grid")


async def test_stores_a_signed_ticket_once() -> None:
    async with await _client() as client:
        first = await client.post("/tickets", content=BODY, headers=_headers())
        again = await client.post("/tickets", content=BODY, headers=_headers())
        listed = await client.get("/tickets")
    assert (first.status_code, first.json()) == (200, {"duplicate": False})
    assert (again.status_code, again.json()) == (200, {"duplicate": True})
    assert listed.status_code == 200
    assert [(t["idempotency_key"], t["payload"]) for t in listed.json()] == [("t-1", json.loads(BODY))]


@pytest.mark.parametrize(
    ("headers", "detail"),
    [
        ({"Idempotency-Key": "t-1"}, "malformed signature header"),
        (_headers(secret=b"wrong"), "signature does not match"),
        (
            {"Idempotency-Key": "t-1", SIGNATURE_HEADER: sign(BODY, SECRET, 1)},
            "signature timestamp outside tolerance",
        ),
    ],
)
async def test_refuses_a_bad_signature(headers: dict[str, str], detail: str) -> None:
    async with await _client() as client:
        response = await client.post("/tickets", content=BODY, headers=headers)
        listed = await client.get("/tickets")
    assert (response.status_code, response.json()) == (401, {"detail": detail})
    assert listed.json() == []


async def test_refuses_a_request_without_idempotency_key() -> None:
    headers = _headers()
    del headers["Idempotency-Key"]
    async with await _client() as client:
        response = await client.post("/tickets", content=BODY, headers=headers)
    assert (response.status_code, response.json()) == (400, {"detail": "missing Idempotency-Key"})


async def test_grid_receiver_serves_fails_on_demand_and_restarts_on_its_port() -> None:
    receiver = GridReceiver(SECRET)
    await receiver.start()
    try:
        url = receiver.url
        receiver.fail_next(1, 503, retry_after="7")
        async with httpx.AsyncClient() as client:
            failed = await client.post(url, content=BODY, headers=_headers())
            await receiver.stop()
            with pytest.raises(httpx.ConnectError):
                await client.post(url, content=BODY, headers=_headers())
            await receiver.start()
            ok = await client.post(url, content=BODY, headers=_headers())
    finally:
        await receiver.stop()
    assert (failed.status_code, failed.headers["Retry-After"]) == (503, "7")
    assert (ok.status_code, ok.json()) == (200, {"duplicate": False})
    assert receiver.url == url
    assert receiver.state.requests == 2
    assert [t.idempotency_key for t in receiver.tickets] == ["t-1"]
