"""The outbox worker against the real stand-in receiver (uvicorn on 127.0.0.1)."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime, timedelta
from typing import Protocol

import pytest
from prometheus_client import CollectorRegistry
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from hub import __version__
from hub.db.models import Ticket, TicketState, utcnow
from hub.tickets.delivery import TicketDeliverer, TicketMetrics, parse_retry_after
from hub.tickets.receiver import GridReceiver
from hub.tickets.signing import SIGNATURE_HEADER, verify
from tests.tickets import SECRET, add_tickets, load_ticket

Sessions = async_sessionmaker[AsyncSession]


@pytest.fixture
def sessions(db_sessions: Sessions) -> Sessions:
    """The shared migrated database, once on SQLite and once on PostgreSQL."""
    return db_sessions


@pytest.fixture
async def receiver() -> AsyncIterator[GridReceiver]:
    grid = GridReceiver(SECRET)
    await grid.start()
    yield grid
    await grid.stop()


@pytest.fixture
def registry() -> CollectorRegistry:
    return CollectorRegistry()


class MakeDeliverer(Protocol):
    async def __call__(
        self,
        url: str | None,
        *,
        start: bool = True,
        secret: bytes = SECRET,
        timeout_s: float = 2.0,
        retry_initial_s: float = 0.05,
        retry_max_s: float = 0.1,
        poll_interval_s: float = 5.0,
    ) -> TicketDeliverer: ...


@pytest.fixture
async def make_deliverer(sessions: Sessions, registry: CollectorRegistry) -> AsyncIterator[MakeDeliverer]:
    """Deliverers with test-sized delays (started unless ``start=False``), stopped at teardown."""
    made: list[TicketDeliverer] = []

    async def make(
        url: str | None,
        *,
        start: bool = True,
        secret: bytes = SECRET,
        timeout_s: float = 2.0,
        retry_initial_s: float = 0.05,
        retry_max_s: float = 0.1,
        poll_interval_s: float = 5.0,
    ) -> TicketDeliverer:
        deliverer = TicketDeliverer(
            sessions,
            url=url,
            secret=secret,
            timeout_s=timeout_s,
            retry_initial_s=retry_initial_s,
            retry_max_s=retry_max_s,
            poll_interval_s=poll_interval_s,
            metrics=TicketMetrics.create(registry),
        )
        made.append(deliverer)
        if start:
            await deliverer.start()
        return deliverer

    yield make
    for deliverer in made:
        await deliverer.stop()


def _sample(registry: CollectorRegistry, name: str, **labels: str) -> float:
    return registry.get_sample_value(name, labels) or 0.0


async def _wait_for(
    sessions: Sessions, ticket_id: str, done: Callable[[Ticket], bool], timeout_s: float = 5.0
) -> None:
    deadline = time.monotonic() + timeout_s
    while not done(await load_ticket(sessions, ticket_id)):
        assert time.monotonic() < deadline, "ticket did not get there in time"
        await asyncio.sleep(0.02)


async def _wait_delivered(sessions: Sessions, ticket_id: str, timeout_s: float = 5.0) -> None:
    await _wait_for(sessions, ticket_id, lambda ticket: ticket.state == TicketState.DELIVERED, timeout_s)


async def test_delivers_a_signed_ticket(
    sessions: Sessions, receiver: GridReceiver, make_deliverer: MakeDeliverer, registry: CollectorRegistry
) -> None:
    (ticket_id,) = await add_tickets(sessions, 1)
    deliverer = await make_deliverer(receiver.url, poll_interval_s=0.05)

    await _wait_delivered(sessions, ticket_id)

    ticket = await load_ticket(sessions, ticket_id)
    (received,) = receiver.tickets
    assert received.payload == ticket.payload
    assert received.idempotency_key == ticket_id
    assert received.headers["content-type"] == "application/json"
    assert received.headers["user-agent"] == f"sharp-eyes-hub/{__version__}"
    verify(received.body, received.headers[SIGNATURE_HEADER.lower()], SECRET, now=time.time())
    assert (ticket.attempts, ticket.last_status_code, ticket.last_error) == (1, 200, "")
    assert _sample(registry, "hub_tickets_delivered_total") == 1
    assert _sample(registry, "hub_tickets_pending") == 0
    status = await deliverer.status()
    assert (status["configured"], status["pending"], status["oldest_pending_age_s"]) == (True, 0, None)
    assert status["last_success_at"] is not None and status["last_success_at"].endswith("Z")


async def test_wake_sends_a_new_ticket_before_the_poll(
    sessions: Sessions, receiver: GridReceiver, make_deliverer: MakeDeliverer
) -> None:
    deliverer = await make_deliverer(receiver.url, poll_interval_s=30.0)
    await asyncio.sleep(0.05)  # the first pass found nothing; the loop now sleeps for the poll
    (ticket_id,) = await add_tickets(sessions, 1)
    deliverer.wake()
    await _wait_delivered(sessions, ticket_id, timeout_s=2.0)


async def test_server_errors_are_retried_until_delivered_once(
    sessions: Sessions, receiver: GridReceiver, make_deliverer: MakeDeliverer, registry: CollectorRegistry
) -> None:
    receiver.fail_next(2, status=500)
    (ticket_id,) = await add_tickets(sessions, 1)
    await make_deliverer(receiver.url)

    await _wait_delivered(sessions, ticket_id)

    ticket = await load_ticket(sessions, ticket_id)
    assert (ticket.attempts, ticket.last_status_code) == (3, 200)
    assert receiver.state.requests == 3
    assert [t.idempotency_key for t in receiver.tickets] == [ticket_id]
    assert _sample(registry, "hub_ticket_delivery_failures_total", reason="server_error") == 2


async def test_receiver_down_keeps_the_ticket_until_it_is_back(
    sessions: Sessions, receiver: GridReceiver, make_deliverer: MakeDeliverer, registry: CollectorRegistry
) -> None:
    (ticket_id,) = await add_tickets(sessions, 1)
    await receiver.stop()
    deliverer = await make_deliverer(receiver.url, start=False)

    assert await deliverer.deliver_due_once() == 0
    ticket = await load_ticket(sessions, ticket_id)
    assert ticket.state == TicketState.PENDING
    assert "connection" in ticket.last_error
    assert ticket.last_status_code is None
    # One failure per attempt (a slow machine can see the 0.05 s back-off run out within the pass).
    assert ticket.attempts >= 1
    assert _sample(registry, "hub_ticket_delivery_failures_total", reason="connection") == ticket.attempts
    status = await deliverer.status()
    assert status["pending"] == 1 and "connection" in status["last_error"]

    await receiver.start()
    await asyncio.sleep(0.15)  # past the back-off
    await deliverer.start()
    await _wait_delivered(sessions, ticket_id)
    assert [t.idempotency_key for t in receiver.tickets] == [ticket_id]


async def test_retry_after_replaces_the_backoff(
    sessions: Sessions, receiver: GridReceiver, make_deliverer: MakeDeliverer
) -> None:
    receiver.fail_next(1, status=429, retry_after="2")
    (ticket_id,) = await add_tickets(sessions, 1)
    deliverer = await make_deliverer(receiver.url, start=False)
    before = utcnow()

    assert await deliverer.deliver_due_once() == 0

    ticket = await load_ticket(sessions, ticket_id)
    assert ticket.last_status_code == 429
    assert before + timedelta(seconds=2) <= ticket.next_attempt_at <= utcnow() + timedelta(seconds=2)


async def test_rejection_is_logged_and_still_retried(
    sessions: Sessions,
    receiver: GridReceiver,
    make_deliverer: MakeDeliverer,
    registry: CollectorRegistry,
    caplog: pytest.LogCaptureFixture,
) -> None:
    (ticket_id,) = await add_tickets(sessions, 1)
    deliverer = await make_deliverer(receiver.url, start=False, secret=b"not the receiver's secret")

    with caplog.at_level(logging.ERROR, logger="hub.tickets.delivery"):
        assert await deliverer.deliver_due_once() == 0

    ticket = await load_ticket(sessions, ticket_id)
    assert (ticket.state, ticket.attempts, ticket.last_status_code) == (TicketState.PENDING, 1, 401)
    assert ticket.last_error == 'webhook answered 401: {"detail":"signature does not match"}'
    (record,) = caplog.records
    assert record.getMessage().startswith(f"ticket {ticket_id} for event {ticket.event_id}: webhook rejected")
    assert "signature does not match" in record.getMessage()
    assert _sample(registry, "hub_ticket_delivery_failures_total", reason="rejected") == 1


async def test_without_url_tickets_stay_pending_and_one_warning(
    sessions: Sessions, make_deliverer: MakeDeliverer, caplog: pytest.LogCaptureFixture
) -> None:
    (ticket_id,) = await add_tickets(sessions, 1)
    with caplog.at_level(logging.WARNING, logger="hub.tickets.delivery"):
        deliverer = await make_deliverer(None, poll_interval_s=0.01)
        await asyncio.sleep(0.1)  # several polls
        assert await deliverer.deliver_due_once() == 0
    ticket = await load_ticket(sessions, ticket_id)
    assert (ticket.state, ticket.attempts) == (TicketState.PENDING, 0)
    assert [r.getMessage() for r in caplog.records] == [
        "tickets: no grid webhook URL configured; tickets stay pending until one is"
    ]
    assert (await deliverer.status())["configured"] is False


async def test_stop_during_backoff_returns_promptly(
    sessions: Sessions, receiver: GridReceiver, make_deliverer: MakeDeliverer
) -> None:
    receiver.fail_next(1, status=503)
    (ticket_id,) = await add_tickets(sessions, 1)
    deliverer = await make_deliverer(receiver.url, retry_initial_s=20.0, retry_max_s=60.0)
    await _wait_for(sessions, ticket_id, lambda ticket: ticket.attempts == 1)

    started = time.monotonic()
    await deliverer.stop()
    assert time.monotonic() - started < 1.0


@pytest.fixture
async def silent_server() -> AsyncIterator[str]:
    """Accepts connections and never answers: a hung receiver."""
    writers: list[asyncio.StreamWriter] = []

    async def hold(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        writers.append(writer)

    server = await asyncio.start_server(hold, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    yield f"http://127.0.0.1:{port}/tickets"
    for writer in writers:
        writer.close()
    server.close()
    await server.wait_closed()


async def test_stop_lets_the_in_flight_post_finish(
    sessions: Sessions, silent_server: str, make_deliverer: MakeDeliverer, registry: CollectorRegistry
) -> None:
    (ticket_id,) = await add_tickets(sessions, 1)
    deliverer = await make_deliverer(silent_server, timeout_s=0.3, retry_initial_s=10.0, retry_max_s=10.0)
    await asyncio.sleep(0.1)  # the POST is now waiting on the silent server

    await deliverer.stop()

    ticket = await load_ticket(sessions, ticket_id)
    assert (ticket.state, ticket.attempts) == (TicketState.PENDING, 1)
    assert ticket.last_error.startswith("webhook timed out after 0.3s")
    assert _sample(registry, "hub_ticket_delivery_failures_total", reason="timeout") == 1


@pytest.mark.parametrize(
    ("header", "seconds"),
    [
        ("120", 120.0),
        (" 1.5 ", 1.5),
        ("-3", 0.0),
        ("Fri, 14 Mar 2025 02:16:30 GMT", 60.0),
        (None, None),
        ("", None),
        ("soon", None),
        ("nan", None),
    ],
)
def test_parse_retry_after(header: str | None, seconds: float | None) -> None:
    now = datetime(2025, 3, 14, 2, 15, 30, tzinfo=UTC).timestamp()
    assert parse_retry_after(header, now=now) == seconds
