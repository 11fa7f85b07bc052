"""The notifier's rules, with no I/O: event data, texts per locale, alert coalescing, retries, failures."""

from __future__ import annotations

import random
import re
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from services.common.events import InvalidEvent, parse_time, parse_uuid

CHANNELS = ("sms", "email")
LOCALES = ("nb", "nn", "en")
DEFAULT_LOCALE = "nb"

# What one attempt came to, as the delivery log records it.
SENT = "sent"
TEMPORARY_FAILURE = "temporary_failure"
PERMANENT_FAILURE = "permanent_failure"
EXPIRED = "expired"
# What a delivery as a whole came to.
FINAL_STATUS = {SENT: "sent", PERMANENT_FAILURE: "failed", EXPIRED: "expired"}

E164 = re.compile(r"^\+[1-9][0-9]{6,14}$")
EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
CODE = re.compile(r"^[0-9A-Za-z]{4,12}$")

OTP_SUBJECTS = {
    "nb": "Engangskode for Samhandling",
    "nn": "Eingongskode for Samhandling",
    "en": "Your Samhandling one-time code",
}
# Short, and nothing but the code and its expiry: no name, no health information.
OTP_TEXTS = {
    "nb": "Din engangskode for Samhandling er {code}. Den gjelder til {until}.",
    "nn": "Eingongskoden din for Samhandling er {code}. Koden gjeld til {until}.",
    "en": "Your one-time code for Samhandling is {code}. It is valid until {until}.",
}


@dataclass(frozen=True)
class OtpRequest:
    challenge_id: str
    user_id: uuid.UUID
    channel: str
    destination: str = field(repr=False)
    code: str = field(repr=False)
    expires_at: datetime


@dataclass(frozen=True)
class Contact:
    user_id: uuid.UUID
    display_name: str | None
    email: str | None
    phone: str | None
    notify_channel: str | None
    locale: str | None


@dataclass(frozen=True)
class OutgoingMessage:
    """One e-mail or SMS; its address and text stay out of reprs, and so out of logs and tracebacks."""

    channel: str
    to: str = field(repr=False)
    subject: str
    text: str = field(repr=False)


@dataclass(frozen=True)
class Failure:
    """Why an attempt failed: `permanent` ones are never retried."""

    permanent: bool
    error: str
    status_code: int | None = None

    @property
    def outcome(self) -> str:
        return PERMANENT_FAILURE if self.permanent else TEMPORARY_FAILURE


@dataclass(frozen=True)
class RetryPolicy:
    initial: float = 0.2
    maximum: float = 5.0
    factor: float = 2.0


# --- parsing events -------------------------------------------------------------------------------

def parse_otp_request(data: Mapping[str, Any]) -> OtpRequest:
    channel = data.get("channel")
    if channel not in CHANNELS:
        raise InvalidEvent("channel must be sms or email")
    destination = data.get("destination")
    pattern, wanted = (E164, "an E.164 phone number") if channel == "sms" else (EMAIL, "an e-mail address")
    if not isinstance(destination, str) or not pattern.match(destination):
        raise InvalidEvent(f"destination must be {wanted}")
    code = data.get("code")
    if not isinstance(code, str) or not CODE.match(code):
        raise InvalidEvent("code must be 4 to 12 letters or digits")
    challenge_id = data.get("challenge_id")
    if not isinstance(challenge_id, str) or not challenge_id:
        raise InvalidEvent("challenge_id must be a string")
    return OtpRequest(
        challenge_id=challenge_id,
        user_id=parse_uuid(data, "user_id"),
        channel=channel,
        destination=destination,
        code=code,
        expires_at=parse_time(data.get("expires_at"), "expires_at"),
    )


def parse_contact(data: Mapping[str, Any]) -> Contact:
    def text(name: str) -> str | None:
        value = data.get(name)
        if value is not None and not isinstance(value, str):
            raise InvalidEvent(f"{name} must be a string or null")
        return value or None

    return Contact(
        user_id=parse_uuid(data, "user_id"),
        display_name=text("display_name"),
        email=text("email"),
        phone=text("phone"),
        notify_channel=text("notify_channel"),
        locale=text("locale"),
    )


# --- messages -------------------------------------------------------------------------------------

def resolve_locale(value: str | None) -> str:
    """nb, nn or en; anything else (unknown user, region suffix, "no") falls back sensibly."""
    if not value:
        return DEFAULT_LOCALE
    language = value.replace("_", "-").split("-")[0].lower()
    return language if language in LOCALES else DEFAULT_LOCALE


def otp_message(request: OtpRequest, locale: str | None, timezone: str) -> OutgoingMessage:
    chosen = resolve_locale(locale)
    until = request.expires_at.astimezone(ZoneInfo(timezone)).strftime("%H:%M")
    return OutgoingMessage(
        channel=request.channel,
        to=request.destination,
        subject=OTP_SUBJECTS[chosen],
        text=OTP_TEXTS[chosen].format(code=request.code, until=until),
    )


def mask_destination(destination: str) -> str:
    """Enough of an address to tell deliveries apart in a log, not enough to reach the person."""
    if "@" in destination:
        local, _, domain = destination.rpartition("@")
        return f"{local[:1]}***@{domain}"
    if len(destination) <= 5:
        return "*" * len(destination)
    return destination[:3] + "*" * (len(destination) - 5) + destination[-2:]


# --- retries and failures -------------------------------------------------------------------------

# An attempt needs a moment to reach the mail server or gateway: one started closer to the deadline
# than this could hand a code over after it expired, so it is not started (the delivery expires).
LAST_ATTEMPT_MARGIN = timedelta(milliseconds=250)


def is_expired(deadline: datetime, now: datetime) -> bool:
    return now >= deadline - LAST_ATTEMPT_MARGIN


def backoff_delay(attempt: int, policy: RetryPolicy, rand: Callable[[], float] = random.random) -> float:
    """Pause after the `attempt`-th failure: exponential up to the cap, with jitter so that many
    deliveries failing together do not all come back to the gateway at the same moment."""
    ceiling = min(policy.maximum, policy.initial * policy.factor ** max(attempt - 1, 0))
    return ceiling * (0.5 + rand() / 2)


def pause_before_retry(attempt: int, policy: RetryPolicy, deadline: datetime, now: datetime) -> float:
    """The backoff, but no longer than it takes to reach the deadline (then it is expired)."""
    remaining = (deadline - LAST_ATTEMPT_MARGIN - now).total_seconds()
    return max(0.0, min(backoff_delay(attempt, policy), remaining))


def attempt_timeout(limit: float, deadline: datetime, now: datetime) -> float:
    """An attempt may not outlive the deadline: a code is not handed over after it has expired."""
    return max(0.001, min(limit, (deadline - now).total_seconds()))


def classify_smtp_reply(code: int | None, error: str) -> Failure:
    """SMTP 5xx is permanent; 4xx, and failures without a reply (connection, timeout), are not."""
    permanent = code is not None and 500 <= code < 600
    return Failure(permanent=permanent, error=error, status_code=code)


def classify_gateway_status(status: int) -> Failure | None:
    """The contract: 2xx accepted, 4xx permanent, 5xx retried. Anything else means the gateway
    URL is wrong (a redirect, say), which retrying cannot mend."""
    if 200 <= status < 300:
        return None
    permanent = not 500 <= status < 600
    return Failure(permanent=permanent, error=f"http_{status}", status_code=status)


def lease_seconds(send_timeout: float, policy: RetryPolicy) -> float:
    """How long one holder may go quiet (an attempt and the pause after it) before another takes over."""
    return send_timeout + policy.maximum + 5.0


# --- message alerts -------------------------------------------------------------------------------

ALERT_SUBJECTS = {
    "nb": "Ny melding i Samhandling",
    "nn": "Ny melding i Samhandling",
    "en": "New message in Samhandling",
}
# Only that a message is waiting and where to log in: never its subject, body, sender or plan,
# which could tell a reader of the e-mail or SMS something about the person's health.
ALERT_TEXTS = {
    "nb": "Du har en ny melding i Samhandling. Logg inn for å lese den: {url}",
    "nn": "Du har ei ny melding i Samhandling. Logg inn for å lese ho: {url}",
    "en": "You have a new message in Samhandling. Log in to read it: {url}",
}

# What a new unread message does to the recipient's alert schedule.
SCHEDULE = "scheduled"  # an alert is now due (at once, or when the window since the last one ends)
# An alert is waiting and covers this message too; or one is being sent, and when it is done
# another follows a window later if this message is still unread.
COALESCE = "coalesced"


@dataclass(frozen=True)
class MessageCreated:
    message_id: uuid.UUID
    sender_id: uuid.UUID
    recipient_ids: tuple[uuid.UUID, ...]


@dataclass(frozen=True)
class MessageRead:
    message_id: uuid.UUID
    user_id: uuid.UUID


@dataclass(frozen=True)
class AlertSchedule:
    alert_id: uuid.UUID | None
    last_alert_at: datetime | None


@dataclass(frozen=True)
class AlertDecision:
    action: str
    due_at: datetime | None = None


def parse_message_created(data: Mapping[str, Any]) -> MessageCreated:
    recipients = data.get("recipient_ids")
    if not isinstance(recipients, list) or not recipients:
        raise InvalidEvent("recipient_ids must be a non-empty list of UUIDs")
    try:
        recipient_ids = tuple(uuid.UUID(str(r)) for r in recipients)
    except ValueError:
        raise InvalidEvent("recipient_ids must be a non-empty list of UUIDs") from None
    return MessageCreated(parse_uuid(data, "message_id"), parse_uuid(data, "sender_id"), recipient_ids)


def parse_message_read(data: Mapping[str, Any]) -> MessageRead:
    return MessageRead(parse_uuid(data, "message_id"), parse_uuid(data, "user_id"))


def alert_destination(contact: Mapping[str, Any] | None) -> tuple[str, str] | None:
    """Where a user's alerts go: their chosen channel with its address. None for channel `none`,
    an unknown user, or a channel without an address (an alert is not worth guessing for)."""
    if contact is None:
        return None
    channel = contact["notify_channel"]
    address = contact["phone"] if channel == "sms" else contact["email"] if channel == "email" else None
    return (channel, address) if address else None


def alert_message(contact: Mapping[str, Any] | None, public_url: str) -> OutgoingMessage | None:
    destination = alert_destination(contact)
    if destination is None or contact is None:
        return None
    locale = resolve_locale(contact["locale"])
    channel, to = destination
    return OutgoingMessage(channel=channel, to=to, subject=ALERT_SUBJECTS[locale],
                           text=ALERT_TEXTS[locale].format(url=public_url))


def next_alert(schedule: AlertSchedule, had_unread: bool, now: datetime, window: timedelta
               ) -> AlertDecision:
    """The contract's coalescing: a message to someone with nothing unread alerts at once; while
    they still have unread messages, they are alerted at most once per window."""
    if schedule.alert_id is not None:
        return AlertDecision(COALESCE)
    if not had_unread or schedule.last_alert_at is None:
        return AlertDecision(SCHEDULE, now)
    return AlertDecision(SCHEDULE, max(now, schedule.last_alert_at + window))
