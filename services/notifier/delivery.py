"""Handing a notification over: the senders (SMTP, SMS gateway, dev outbox), retries until the
deadline, a lease so that one copy of an event is sent once, and the delivery log."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import re
import time
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
from services.common.waiting import wait_for_event
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

    async def close(self) -> None:
        """Let go of any connection kept open (at shutdown)."""


# An idle SMTP connection older than this is closed rather than used again: a mail server (or a
# firewall between) may drop an idle connection without telling, and then a send would hang.
SMTP_IDLE_SECONDS = 30.0


class SmtpSender:
    """Sends over connections kept open between messages (up to `keep_open` idle ones). A connection
    serves one message at a time, and is closed and never used again after any failure."""

    transport = "smtp"

    def __init__(self, settings: SmtpSettings, mail_from: str, timeout: float, keep_open: int = 0) -> None:
        self.settings = settings
        self.mail_from = mail_from
        self.timeout = timeout
        self.keep_open = keep_open
        self._idle: list[tuple[aiosmtplib.SMTP, float]] = []  # with when each was last used
        self._closed = False

    async def send(self, message: OutgoingMessage, timeout: float) -> None:
        try:
            async with asyncio.timeout(timeout):
                client = await self._send(build_email(message, self.mail_from), timeout)
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
        await self._keep_or_quit(client)

    async def _send(self, email: EmailMessage, timeout: float) -> aiosmtplib.SMTP:
        """Send on an idle connection if there is one, else on a new one; the connection used."""
        client = self._take_idle()
        if client is not None:
            try:
                return await self._send_on(client, email, timeout)
            except aiosmtplib.SMTPServerDisconnected:
                # The server closed the idle connection (its idle timeout) as this message went out,
                # and no reply accepted it: once more at once on a new connection, as the deliverer
                # would after a pause (at worst sent twice, as after any connection lost mid-DATA).
                log.info("idle SMTP connection closed by the server, sending on a new one")
        return await self._send_on(self._new_client(), email, timeout)

    async def _send_on(self, client: aiosmtplib.SMTP, email: EmailMessage, timeout: float
                       ) -> aiosmtplib.SMTP:
        try:
            if not client.is_connected:
                await client.connect(timeout=timeout)
            await client.send_message(email, timeout=timeout)
        except BaseException:
            client.close()  # whatever state the conversation is in, it is not continued
            raise
        return client

    def _new_client(self) -> aiosmtplib.SMTP:
        smtp = self.settings
        credentials = {"username": smtp.username, "password": smtp.password or ""} if smtp.username else {}
        return aiosmtplib.SMTP(hostname=smtp.host, port=smtp.port, use_tls=smtp.security == "tls",
                               start_tls=smtp.security == "starttls", timeout=self.timeout, **credentials)

    def _take_idle(self) -> aiosmtplib.SMTP | None:
        """The most recently used idle connection still open; older or closed ones are dropped."""
        while self._idle:
            client, since = self._idle.pop()
            if client.is_connected and time.monotonic() - since < SMTP_IDLE_SECONDS:
                return client
            client.close()
        return None

    async def _keep_or_quit(self, client: aiosmtplib.SMTP) -> None:
        if not self._closed and len(self._idle) < self.keep_open and client.is_connected:
            self._idle.append((client, time.monotonic()))
        else:
            await quit_quietly(client)

    async def close(self) -> None:
        self._closed = True
        idle, self._idle = self._idle, []
        await asyncio.gather(*(quit_quietly(client) for client, _ in idle))


async def quit_quietly(client: aiosmtplib.SMTP, timeout: float = 2.0) -> None:
    """Say goodbye if the server still listens; the message (if any) was accepted already."""
    with contextlib.suppress(aiosmtplib.SMTPException, OSError, TimeoutError):
        if client.is_connected:
            await client.quit(timeout=timeout)
    client.close()


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

    async def close(self) -> None:
        """The HTTP session is the app's, closed with it."""


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

    async def close(self) -> None:
        """Nothing kept open."""


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
    """A sender per channel; without SMTP_HOST or SMS_GATEWAY_URL that channel writes to the dev outbox.
    Each call makes senders of its own (codes and alerts each keep their own SMTP connections)."""
    outbox = DevOutboxSender(settings.dev_outbox_dir, settings.mail_from)
    return {
        "email": SmtpSender(settings.smtp, settings.mail_from, settings.smtp_timeout,
                            settings.smtp_connections)
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
            # The first attempt follows the acquiring at once, under the full lease it set.
            if failures and not await storage.renew_lease(self.pool, delivery_id, owner, lease):
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
        last = storage.Attempt(delivery_id, sender.transport, outcome, failure.error if failure else None,
                               failure.status_code if failure else None, started)
        if note.claim_event:
            async with self.pool.acquire() as conn, conn.transaction():
                attempt = await storage.finish_delivery(conn, last, status)
                await claim_event(conn, note.event)
        else:
            attempt = await storage.finish_delivery(self.pool, last, status)  # one statement, atomic
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
        if await wait_for_event(self.stopping, seconds):
            log.info("delivery paused: the service is stopping, the event goes back to the queue")
            raise DeliveryInterrupted("service stopping")


DELIVERER = web.AppKey("deliverer", Deliverer)  # of codes
ALERT_SENDERS = web.AppKey("alert_senders", dict[str, Sender])
