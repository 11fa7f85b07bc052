"""Handing a notification over: the senders (SMTP, SMS gateway, dev outbox), retries until the
deadline, a lease so that one copy of an event is sent once, and the delivery log."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import re
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from email.message import EmailMessage
from email.utils import formatdate, make_msgid, parseaddr
from pathlib import Path
from typing import Protocol

import aiohttp
import aiosmtplib
import asyncpg
from aiohttp import web

from services.common.consumer import claim_event
from services.common.events import Event
from services.notifier import storage
from services.notifier.config import Settings, SmsSettings, SmtpSettings
from services.notifier.domain import (
    EXPIRED,
    FINAL_STATUS,
    PERMANENT_FAILURE,
    SENT,
    Failure,
    OutgoingMessage,
    RetryPolicy,
    attempt_timeout,
    backoff_delay,
    classify_gateway_status,
    classify_smtp_reply,
    is_expired,
    lease_seconds,
    mask_destination,
    pause_before_retry,
)
from services.notifier.metrics import NotifierMetrics

log = logging.getLogger(__name__)

# The delivery is in another consumer's hands (the same event delivered twice), or already done.
ELSEWHERE = "elsewhere"


class SendFailed(Exception):
    def __init__(self, failure: Failure) -> None:
        super().__init__(failure.error)
        self.failure = failure


class DeliveryInterrupted(Exception):
    """The service is stopping between attempts; the event goes back to the queue for another replica."""


# --- senders --------------------------------------------------------------------------------------

class Sender(Protocol):
    transport: str
    timeout: float

    async def send(self, message: OutgoingMessage, timeout: float) -> None:
        """Hand the message over within `timeout` seconds, or raise SendFailed."""


class SmtpSender:
    transport = "smtp"

    def __init__(self, settings: SmtpSettings, mail_from: str, timeout: float) -> None:
        self.settings = settings
        self.mail_from = mail_from
        self.timeout = timeout

    async def send(self, message: OutgoingMessage, timeout: float) -> None:
        smtp = self.settings
        credentials = {"username": smtp.username, "password": smtp.password or ""} if smtp.username else {}
        try:
            async with asyncio.timeout(timeout):
                await aiosmtplib.send(
                    build_email(message, self.mail_from), hostname=smtp.host, port=smtp.port,
                    use_tls=smtp.security == "tls", start_tls=smtp.security == "starttls",
                    timeout=timeout, **credentials,
                )
        except aiosmtplib.SMTPRecipientsRefused as exc:
            code = exc.recipients[0].code if exc.recipients else None
            raise SendFailed(classify_smtp_reply(code, type(exc).__name__)) from None
        except aiosmtplib.SMTPResponseException as exc:
            raise SendFailed(classify_smtp_reply(exc.code, type(exc).__name__)) from None
        except aiosmtplib.SMTPNotSupported:
            # The server lacks what SMTP_SECURITY asks for: a setup error that retrying cannot mend.
            raise SendFailed(Failure(permanent=True, error="SMTPNotSupported")) from None
        except TimeoutError:
            raise SendFailed(Failure(permanent=False, error="timeout")) from None
        except (aiosmtplib.SMTPException, OSError) as exc:
            raise SendFailed(classify_smtp_reply(None, type(exc).__name__)) from None


def build_email(message: OutgoingMessage, mail_from: str) -> EmailMessage:
    email = EmailMessage()
    email["From"] = mail_from
    email["To"] = message.to
    email["Subject"] = message.subject
    email["Date"] = formatdate(usegmt=True)
    # An explicit domain, so that make_msgid does not look up this host's name (a blocking call).
    email["Message-ID"] = make_msgid(domain=parseaddr(mail_from)[1].rpartition("@")[2] or "samhandling.local")
    email["Auto-Submitted"] = "auto-generated"  # RFC 3834: no out-of-office replies to a no-reply box
    email.set_content(message.text)
    return email


class SmsGatewaySender:
    transport = "sms_gateway"

    def __init__(self, session: aiohttp.ClientSession, settings: SmsSettings, timeout: float) -> None:
        self.session = session
        self.settings = settings
        self.timeout = timeout

    async def send(self, message: OutgoingMessage, timeout: float) -> None:
        headers = {"Authorization": f"Bearer {self.settings.token}"} if self.settings.token else {}
        try:
            async with self.session.post(
                self.settings.url, json={"to": message.to, "text": message.text}, headers=headers,
                timeout=aiohttp.ClientTimeout(total=timeout), allow_redirects=False,
            ) as response:
                status = response.status
        except TimeoutError:
            raise SendFailed(Failure(permanent=False, error="timeout")) from None
        except (aiohttp.ClientError, OSError) as exc:
            raise SendFailed(Failure(permanent=False, error=type(exc).__name__)) from None
        failure = classify_gateway_status(status)
        if failure is not None:
            raise SendFailed(failure)


class DevOutboxSender:
    """Without a mail server or SMS gateway: one readable text file per message, for development."""

    transport = "dev_outbox"
    timeout = 5.0

    def __init__(self, directory: Path, mail_from: str) -> None:
        self.directory = directory
        self.mail_from = mail_from

    async def send(self, message: OutgoingMessage, timeout: float) -> None:
        try:
            await asyncio.to_thread(write_outbox_file, self.directory, message, self.mail_from,
                                    datetime.now(UTC))
        except OSError as exc:
            raise SendFailed(Failure(permanent=False, error=type(exc).__name__)) from None


def write_outbox_file(directory: Path, message: OutgoingMessage, mail_from: str, when: datetime) -> Path:
    """Named so that a listing sorts by time and shows channel and recipient; written whole or not at all."""
    directory.mkdir(parents=True, exist_ok=True)
    recipient = re.sub(r"[^A-Za-z0-9@.+_-]", "_", message.to)
    name = f"{when:%Y%m%dT%H%M%S.%fZ}_{message.channel}_{recipient}_{uuid.uuid4().hex[:6]}.txt"
    lines = [f"Channel: {message.channel}"]
    if message.channel == "email":
        lines.append(f"From: {mail_from}")
    lines += [f"To: {message.to}", f"Subject: {message.subject}",
              f"Date: {when.isoformat().replace('+00:00', 'Z')}", "", message.text, ""]
    partial = directory / f".{name}.part"
    partial.write_text("\n".join(lines), encoding="utf-8")
    os.replace(partial, directory / name)
    return directory / name


def build_senders(settings: Settings, session: aiohttp.ClientSession) -> dict[str, Sender]:
    """A sender per channel; without SMTP_HOST or SMS_GATEWAY_URL that channel writes to the dev outbox."""
    outbox = DevOutboxSender(settings.dev_outbox_dir, settings.mail_from)
    return {
        "email": SmtpSender(settings.smtp, settings.mail_from, settings.smtp_timeout)
        if settings.smtp else outbox,
        "sms": SmsGatewaySender(session, settings.sms, settings.sms_timeout) if settings.sms else outbox,
    }


# --- delivering with retries ----------------------------------------------------------------------

@dataclass(frozen=True)
class Notification:
    event: Event
    kind: str  # "otp" now; message alerts later
    user_id: uuid.UUID
    message: OutgoingMessage
    deadline: datetime  # never attempted at or after this moment
    claim_event: bool = True  # record the event as processed with the outcome (one delivery per event)


@dataclass(frozen=True)
class DeliveryResult:
    status: str  # sent, failed, expired, or ELSEWHERE
    accepted_at: datetime | None = None


class Deliverer:
    def __init__(self, pool: asyncpg.Pool, senders: Mapping[str, Sender], policy: RetryPolicy,
                 metrics: NotifierMetrics, stopping: asyncio.Event) -> None:
        self.pool = pool
        self.senders = senders
        self.policy = policy
        self.metrics = metrics
        self.stopping = stopping

    async def deliver(self, note: Notification) -> DeliveryResult:
        """Send until accepted, refused for good, or past the deadline; log every attempt."""
        sender = self.senders[note.message.channel]
        lease = lease_seconds(sender.timeout, self.policy)
        owner = uuid.uuid4()
        delivery_id = await self._acquire(note, owner, lease)
        if delivery_id is None:
            return DeliveryResult(ELSEWHERE)
        try:
            return await self._attempt_until_done(note, sender, delivery_id, owner, lease)
        except Exception:
            # Let a redelivered copy take over at once instead of waiting for the lease to lapse.
            with contextlib.suppress(Exception):
                await storage.release_lease(self.pool, delivery_id, owner)
            raise

    async def _acquire(self, note: Notification, owner: uuid.UUID, lease: float) -> uuid.UUID | None:
        """Take the delivery; while another consumer holds it, wait until it is done or its lease lapses."""
        new = storage.NewDelivery(uuid.uuid4(), note.event.id, note.user_id, note.kind, note.message.channel,
                                  mask_destination(note.message.to), note.deadline)
        waits = 0
        while True:
            delivery_id = await storage.acquire_delivery(self.pool, new, owner, lease)
            if delivery_id is not None:
                return delivery_id
            if await storage.fetch_delivery_status(self.pool, note.event.id, note.user_id) != "pending":
                return None
            waits += 1
            await self._pause(backoff_delay(waits, self.policy))

    async def _attempt_until_done(self, note: Notification, sender: Sender, delivery_id: uuid.UUID,
                                  owner: uuid.UUID, lease: float) -> DeliveryResult:
        failures = 0
        while True:
            started = datetime.now(UTC)
            # Checked before every attempt: a code is never handed over once it has expired.
            if is_expired(note.deadline, started):
                return await self._finish(note, sender, delivery_id, EXPIRED, None, started)
            if not await storage.renew_lease(self.pool, delivery_id, owner, lease):
                return DeliveryResult(ELSEWHERE)
            try:
                await sender.send(note.message, attempt_timeout(sender.timeout, note.deadline, started))
            except SendFailed as exc:
                failure = exc.failure
            else:
                return await self._finish(note, sender, delivery_id, SENT, None, started)
            if failure.permanent:
                return await self._finish(note, sender, delivery_id, PERMANENT_FAILURE, failure, started)
            await self._record(note, sender, delivery_id, failure, started)
            failures += 1
            await self._pause(pause_before_retry(failures, self.policy, note.deadline, datetime.now(UTC)))

    async def _record(self, note: Notification, sender: Sender, delivery_id: uuid.UUID,
                      failure: Failure, started: datetime) -> None:
        attempt = await storage.insert_attempt(self.pool, delivery_id, sender.transport, failure.outcome,
                                               failure.error, failure.status_code, started)
        self._observe(note, sender, delivery_id, attempt, failure.outcome, failure)

    async def _finish(self, note: Notification, sender: Sender, delivery_id: uuid.UUID, outcome: str,
                      failure: Failure | None, started: datetime) -> DeliveryResult:
        finished = datetime.now(UTC)
        status = FINAL_STATUS[outcome]
        async with self.pool.acquire() as conn, conn.transaction():
            attempt = await storage.insert_attempt(
                conn, delivery_id, sender.transport, outcome, failure.error if failure else None,
                failure.status_code if failure else None, started,
            )
            await storage.finish_delivery(conn, delivery_id, status)
            if note.claim_event:
                await claim_event(conn, note.event)
        self._observe(note, sender, delivery_id, attempt, outcome, failure)
        self.metrics.deliveries(channel=note.message.channel, kind=note.kind, outcome=status).inc()
        return DeliveryResult(status, accepted_at=finished if outcome == SENT else None)

    def _observe(self, note: Notification, sender: Sender, delivery_id: uuid.UUID, attempt: int,
                 outcome: str, failure: Failure | None) -> None:
        channel = note.message.channel
        self.metrics.attempts(channel=channel, kind=note.kind, outcome=outcome).inc()
        level = logging.INFO if outcome in (SENT, EXPIRED) else logging.WARNING
        log.log(level, "delivery attempt", extra={
            "delivery_id": str(delivery_id), "kind": note.kind, "channel": channel,
            "transport": sender.transport, "destination": mask_destination(note.message.to),
            "attempt": attempt, "outcome": outcome,
            "error": failure.error if failure else None,
            "status_code": failure.status_code if failure else None,
        })

    async def _pause(self, seconds: float) -> None:
        """Sleep, unless the service starts stopping: then give the event back to the queue."""
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self.stopping.wait(), seconds)
        if self.stopping.is_set():
            log.info("delivery paused: the service is stopping, the event goes back to the queue")
            raise DeliveryInterrupted("service stopping")


DELIVERER = web.AppKey("deliverer", Deliverer)
