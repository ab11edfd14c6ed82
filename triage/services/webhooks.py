"""Webhooks: signed deliveries from a persisted outbox, with retries, backoff with jitter, and a dead letter.

Every delivery is a JSON ``POST`` with ``X-Triage-Event: <type>`` and ``X-Triage-Signature: t=<unix seconds>,
v1=<hex HMAC-SHA256 of "<t>.<raw body>" with the webhook's secret>``. The body is fixed when the alert is stored,
so a retry sends the same bytes (with a fresh ``t``); its ``id`` lets a receiver drop duplicates. Receivers should
refuse a ``t`` older than their replay window (:func:`verify_signature` does).
"""

from __future__ import annotations

import hashlib
import hmac
import random
import secrets
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from urllib.parse import urlparse

from triage.domain.access import Principal, require_role
from triage.domain.alerts import AlertType
from triage.kernel.errors import InvalidRequest, NotFound
from triage.kernel.vocabulary import Role
from triage.ports import Delivery, UnitOfWork, Webhook, WebhookSender
from triage.services.audit import record

Start = Callable[[], UnitOfWork]
SIGNATURE_HEADER = "X-Triage-Signature"
EVENT_HEADER = "X-Triage-Event"
REPLAY_WINDOW = 300  # seconds


def sign(secret: str, body: bytes, *, timestamp: int) -> str:
    """The signature header value for ``body`` sent at ``timestamp``."""
    digest = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()
    return f"t={timestamp},v1={digest}"


def verify_signature(secret: str, body: bytes, header: str, *, now: float | None = None,
                     window: int = REPLAY_WINDOW) -> bool:  # fmt: skip
    """What a receiver does: the signature matches and ``t`` is within the replay window."""
    try:
        parts = dict(item.split("=", 1) for item in header.split(","))
        timestamp = int(parts["t"])
    except (ValueError, KeyError):
        return False
    if abs((now if now is not None else time.time()) - timestamp) > window:
        return False
    expected = sign(secret, body, timestamp=timestamp).split("v1=", 1)[1]
    return hmac.compare_digest(expected, parts.get("v1", ""))


def parse_events(names: Iterable[str]) -> frozenset[AlertType]:
    """Event types from names; refuses unknown ones with the list of known ones."""
    known = {t.value: t for t in AlertType}
    chosen = [n.strip() for n in names if n.strip()]
    unknown = sorted(n for n in chosen if n not in known)
    if unknown or not chosen:
        raise InvalidRequest(f"unknown event type(s) {', '.join(unknown) or '(none given)'}; choose among: {', '.join(known)}")
    return frozenset(known[n] for n in chosen)


def is_http_url(url: str) -> bool:
    """Whether `url` is an http(s) URL with a host and a valid port (a malformed one, like `http://[`, is not)."""
    try:
        parsed = urlparse(url)
        _ = parsed.port  # raises on a port that is not a number in 0-65535
    except ValueError:
        return False
    return parsed.scheme in ("http", "https") and bool(parsed.hostname)


def add_webhook(start: Start, *, url: str, secret: str, events: Iterable[str], now: datetime,
                actor: Principal | str) -> Webhook:  # fmt: skip
    """Register a receiver.

    Raises:
        InvalidRequest: a URL that is not http(s) with a host, an empty or short secret, an unknown event type.
    """
    if isinstance(actor, Principal):
        require_role(actor, Role.ADMIN, action="manage webhooks")
    if not is_http_url(url):
        raise InvalidRequest(f"webhook URL {url!r} is not an http(s) URL with a host")
    if len(secret) < 16:
        raise InvalidRequest("the webhook secret must have at least 16 characters (generate one with `openssl rand -hex 32`)")
    webhook = Webhook(id=secrets.token_hex(6), url=url, secret=secret, events=parse_events(events), active=True,
                      created_at=now, created_by=actor.label if isinstance(actor, Principal) else actor)  # fmt: skip
    with start() as uow:
        uow.webhooks.add(webhook)
        record(uow, actor=actor, action="webhook-added", at=now,
               after={"webhook_id": webhook.id, "url": url, "events": sorted(e.value for e in webhook.events)})  # fmt: skip
        uow.commit()
    return webhook


def redeliver(start: Start, delivery_id: int, *, now: datetime, actor: Principal | str) -> None:
    """Send a delivered or dead-lettered delivery again.

    Raises:
        NotFound: no such delivery, or it is still pending.
    """
    if isinstance(actor, Principal):
        require_role(actor, Role.ADMIN, action="redeliver webhooks")
    with start() as uow:
        if not uow.webhooks.redeliver(delivery_id, at=now):
            raise NotFound(f"no delivered or dead delivery {delivery_id}")
        record(uow, actor=actor, action="webhook-redeliver", at=now, after={"delivery_id": delivery_id})
        uow.commit()


@dataclass(frozen=True)
class RetryPolicy:
    """Exponential backoff with full jitter, capped; dead-lettered after ``max_attempts``."""

    base: timedelta = timedelta(seconds=2)
    cap: timedelta = timedelta(minutes=10)
    max_attempts: int = 10

    def next_try(self, attempts: int, now: datetime, rng: random.Random) -> datetime | None:
        if attempts >= self.max_attempts:
            return None
        ceiling = min(self.cap.total_seconds(), self.base.total_seconds() * 2 ** (attempts - 1))
        return now + timedelta(seconds=rng.uniform(ceiling / 2, ceiling))


class WebhookDispatcher:
    """Claims due deliveries and sends them, one attempt each per call of :meth:`run_once`."""

    def __init__(self, start: Start, sender: WebhookSender, *, worker_id: str, clock: Callable[[], datetime],
                 policy: RetryPolicy | None = None, lease: timedelta = timedelta(seconds=60)) -> None:  # fmt: skip
        self.start = start
        self.sender = sender
        self.worker_id = worker_id
        self.clock = clock
        self.policy = policy or RetryPolicy()
        self.lease = lease
        self._rng = random.Random()

    def run_once(self, *, limit: int = 50) -> int:
        """Attempt every due delivery once; returns how many were attempted."""
        now = self.clock()
        with self.start() as uow:
            claimed = uow.webhooks.claim(self.worker_id, limit=limit, lease=self.lease, now=now)
            hooks = {w.id: w for w in uow.webhooks.all()}
            uow.commit()
        for delivery in claimed:
            self._attempt(delivery, hooks.get(delivery.webhook_id))
        return len(claimed)

    def _attempt(self, delivery: Delivery, webhook: Webhook | None) -> None:
        status: int | None = None
        error = ""
        if webhook is None or not webhook.active:
            error = "webhook removed or deactivated"
        else:
            body = delivery.body.encode()
            headers = {"Content-Type": "application/json", EVENT_HEADER: delivery.event,
                       SIGNATURE_HEADER: sign(webhook.secret, body, timestamp=int(time.time())),
                       "X-Triage-Delivery": str(delivery.id)}  # fmt: skip
            try:
                status = self.sender.send(webhook.url, headers=headers, body=body)
            except OSError as exc:
                error = f"{type(exc).__name__}: {exc}"
            else:
                error = "" if 200 <= status < 300 else f"HTTP {status}"
        now = self.clock()
        with self.start() as uow:
            if not error:
                uow.webhooks.delivered(delivery.id, self.worker_id, status=status or 200, at=now)
            else:
                retry_at = None if webhook is None or not webhook.active else self.policy.next_try(delivery.attempts, now, self._rng)
                uow.webhooks.failed(delivery.id, self.worker_id, status=status, error=error, retry_at=retry_at, at=now)
            uow.commit()
