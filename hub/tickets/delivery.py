"""The outbox worker: posts pending tickets to the grid system's webhook until acknowledged.

One ticket at a time, oldest first: claim it (a short lease, committed), POST it outside any
transaction, then record the outcome. 2xx delivers; everything else is a retry with
back-off, so no ticket is ever dropped, only delayed.
"""

from __future__ import annotations

import asyncio
import contextlib
import email.utils
import json
import logging
import math
import time
from dataclasses import dataclass
from datetime import datetime
from typing import Any, TypedDict

import httpx
from prometheus_client import CollectorRegistry, Counter, Gauge
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from hub import __version__
from hub.aio import cancel_and_wait
from hub.db.models import Ticket, utcnow
from hub.tickets import outbox
from hub.tickets.payload import iso_utc
from hub.tickets.signing import SIGNATURE_HEADER, sign

logger = logging.getLogger(__name__)

USER_AGENT = f"sharp-eyes-hub/{__version__}"

# What a POST may raise that means "try again later"; anything else is a bug, logged with its
# traceback by the loop. The ticket stays pending either way.
_POST_ERRORS: tuple[type[Exception], ...] = (
    httpx.TimeoutException,  # connect/read/write/pool timeout: receiver slow or unreachable
    httpx.TransportError,  # refused, reset, DNS, protocol error: receiver down or restarting
)
# Statuses that mean "not now" rather than "not this": the receiver asks us to come back.
_THROTTLE_STATUSES = frozenset({408, 429})


@dataclass(frozen=True)
class TicketMetrics:
    """The worker's Prometheus metrics, in a registry the caller owns (no global state)."""

    delivered: Counter
    failures: Counter
    pending: Gauge

    @classmethod
    def create(cls, registry: CollectorRegistry) -> TicketMetrics:
        return cls(
            delivered=Counter(
                "hub_tickets_delivered_total", "Tickets acknowledged by the grid system", registry=registry
            ),
            failures=Counter(
                "hub_ticket_delivery_failures_total",
                "Failed ticket delivery attempts, by reason",
                ["reason"],
                registry=registry,
            ),
            pending=Gauge("hub_tickets_pending", "Tickets not yet acknowledged", registry=registry),
        )


class DeliveryStatus(TypedDict):
    """What the API's status endpoint shows about ticket delivery."""

    configured: bool
    pending: int
    oldest_pending_age_s: float | None
    last_error: str
    last_success_at: str | None


@dataclass(frozen=True)
class _Claim:
    """What the POST needs from a claimed row, read before its session closes."""

    id: str
    event_id: str
    payload: dict[str, Any]


@dataclass(frozen=True)
class _Outcome:
    status_code: int | None
    error: str
    reason: str | None  # None when delivered
    retry_after_s: float | None = None
    body: str = ""


def parse_retry_after(value: str | None, *, now: float) -> float | None:
    """Seconds from a ``Retry-After`` header (delay-seconds or HTTP-date); None if absent or bad."""
    if value is None or not value.strip():
        return None
    with contextlib.suppress(ValueError):
        seconds = float(value)
        return max(seconds, 0.0) if math.isfinite(seconds) else None
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(when.timestamp() - now, 0.0)


class TicketDeliverer:
    """Posts the outbox to ``url``; ``wake()`` sends a new ticket at once instead of at the poll."""

    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        *,
        url: str | None,
        secret: bytes,
        timeout_s: float,
        retry_initial_s: float,
        retry_max_s: float,
        poll_interval_s: float,
        client: httpx.AsyncClient | None = None,
        metrics: TicketMetrics | None = None,
    ) -> None:
        self._sessions = sessions
        self._url = url
        self._secret = secret
        self._timeout_s = timeout_s
        self._retry_initial_s = retry_initial_s
        self._retry_max_s = retry_max_s
        self._poll_interval_s = poll_interval_s
        self._client = client
        self._owns_client = client is None
        self.metrics = metrics or TicketMetrics.create(CollectorRegistry())
        self._wake = asyncio.Event()
        self._stopping = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._warned_unconfigured = False
        self.last_error = ""
        self.last_success_at: datetime | None = None

    async def start(self) -> None:
        if self._task is not None:
            raise RuntimeError("ticket deliverer already started")
        self._task = asyncio.get_running_loop().create_task(self._run(), name="ticket-deliverer")

    async def stop(self) -> None:
        """Let an in-flight POST finish (bounded by the timeout), then end the loop."""
        task, self._task = self._task, None
        self._stopping.set()
        self._wake.set()
        if task is not None:
            done, _ = await asyncio.wait({task}, timeout=self._timeout_s + 1.0)
            if not done:
                await cancel_and_wait(task)
        self._stopping.clear()  # deliver_due_once still works by hand after a stop
        if self._owns_client and self._client is not None:
            await self._client.aclose()
            self._client = None

    def wake(self) -> None:
        """Called after a ticket is committed, so it goes out now rather than at the next poll."""
        self._wake.set()

    async def _run(self) -> None:
        while not self._stopping.is_set():
            self._wake.clear()
            try:
                await self.deliver_due_once()
                wait_s = await self._seconds_until_due()
            except Exception:
                logger.exception("tickets: delivery cycle failed, retrying in %.0fs", self._poll_interval_s)
                wait_s = self._poll_interval_s
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), timeout=wait_s)

    async def _seconds_until_due(self) -> float:
        if self._url is None:
            return self._poll_interval_s
        async with self._sessions() as session:
            due = await outbox.next_due_at(session)
        if due is None:
            return self._poll_interval_s
        # The floor keeps a row that another node holds locked from turning this into a busy loop.
        return min(max((due - utcnow()).total_seconds(), 0.01), self._poll_interval_s)

    async def deliver_due_once(self) -> int:
        """Deliver every ticket due now; returns how many were acknowledged."""
        if self._url is None:
            await self._refresh_pending()
            if not self._warned_unconfigured:
                self._warned_unconfigured = True
                logger.warning("tickets: no grid webhook URL configured; tickets stay pending until one is")
            return 0
        delivered = 0
        while not self._stopping.is_set():
            claim = await self._claim_one()
            if claim is None:
                break
            outcome = await self._post(self._url, claim)
            if await self._record(claim, outcome):
                delivered += 1
        await self._refresh_pending()
        return delivered

    async def _claim_one(self) -> _Claim | None:
        async with self._sessions() as session, session.begin():
            tickets = await outbox.claim_due(
                session, now=utcnow(), limit=1, lease_s=self._timeout_s + outbox.DEFAULT_LEASE_S
            )
            if not tickets:
                return None
            ticket = tickets[0]
            return _Claim(id=ticket.id, event_id=ticket.event_id, payload=dict(ticket.payload))

    async def _post(self, url: str, claim: _Claim) -> _Outcome:
        if self._client is None:
            self._client = httpx.AsyncClient(timeout=self._timeout_s)
        body = json.dumps(claim.payload, separators=(",", ":"), sort_keys=True).encode()
        headers = {
            "Content-Type": "application/json",
            "Idempotency-Key": claim.id,
            SIGNATURE_HEADER: sign(body, self._secret, int(time.time())),
            "User-Agent": USER_AGENT,
        }
        try:
            response = await self._client.post(url, content=body, headers=headers, timeout=self._timeout_s)
        except _POST_ERRORS as err:
            if isinstance(err, httpx.TimeoutException):
                error = f"webhook timed out after {self._timeout_s:g}s ({type(err).__name__})"
                return _Outcome(None, error, "timeout")
            return _Outcome(None, f"webhook connection failed: {type(err).__name__}: {err}", "connection")
        code = response.status_code
        if 200 <= code < 300:
            return _Outcome(code, "", None)
        retry_after = parse_retry_after(response.headers.get("Retry-After"), now=time.time())
        if code >= 500:
            reason = "server_error"
        elif code in _THROTTLE_STATUSES:
            reason = "throttled"
        else:
            reason = "rejected"
        body_head = response.text[:200]
        error = f"webhook answered {code}: {body_head}" if body_head else f"webhook answered {code}"
        return _Outcome(code, error, reason, retry_after, body_head)

    async def _record(self, claim: _Claim, outcome: _Outcome) -> bool:
        now = utcnow()
        delay = 0.0
        async with self._sessions() as session, session.begin():
            ticket = await session.get(Ticket, claim.id)
            if ticket is None:
                return False  # its event was deleted meanwhile; nothing left to deliver
            if outcome.reason is None:
                assert outcome.status_code is not None
                await outbox.mark_delivered(session, ticket=ticket, status_code=outcome.status_code, now=now)
                attempts = ticket.attempts
            else:
                delay = await outbox.mark_failed(
                    session,
                    ticket=ticket,
                    error=outcome.error,
                    status_code=outcome.status_code,
                    now=now,
                    retry_initial_s=self._retry_initial_s,
                    retry_max_s=self._retry_max_s,
                    retry_after_s=outcome.retry_after_s,
                )
                attempts = ticket.attempts
        if outcome.reason is None:
            self.metrics.delivered.inc()
            self.last_success_at = now
            logger.info("ticket %s for event %s: delivered (attempt %d)", claim.id, claim.event_id, attempts)
            return True
        self.metrics.failures.labels(reason=outcome.reason).inc()
        self.last_error = outcome.error
        self._log_failure(claim, outcome, delay, attempts)
        return False

    def _log_failure(self, claim: _Claim, outcome: _Outcome, delay: float, attempts: int) -> None:
        head = (claim.id, claim.event_id)
        if outcome.reason == "rejected":
            # A 4xx is the receiver refusing this ticket: someone has to look, but we keep trying.
            message = "ticket %s for event %s: webhook rejected it with %s (%r), retry in %.0fs (attempt %d)"
            logger.error(message, *head, outcome.status_code, outcome.body, delay, attempts)
        elif outcome.status_code is not None:
            message = "ticket %s for event %s: webhook answered %s, retry in %.0fs (attempt %d)"
            logger.warning(message, *head, outcome.status_code, delay, attempts)
        else:
            message = "ticket %s for event %s: %s, retry in %.0fs (attempt %d)"
            logger.warning(message, *head, outcome.error, delay, attempts)

    async def _refresh_pending(self) -> None:
        async with self._sessions() as session:
            self.metrics.pending.set(await outbox.pending_count(session))

    async def status(self) -> DeliveryStatus:
        """Pending count, backlog age and the last outcome, for the API's status endpoint."""
        async with self._sessions() as session:
            pending = await outbox.pending_count(session)
            oldest = await outbox.oldest_pending_age_s(session, now=utcnow())
        return DeliveryStatus(
            configured=self._url is not None,
            pending=pending,
            oldest_pending_age_s=oldest,
            last_error=self.last_error,
            last_success_at=iso_utc(self.last_success_at),
        )
