"""Incoming events: the notifier's queues, and the handler for each event type they carry."""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime
from functools import partial
from typing import TypeVar

from aiohttp import web

from services.common.consumer import PermanentFailure, Subscription, claim_event, was_processed
from services.common.events import Event
from services.common.web import DB
from services.notifier import alerts, domain, storage
from services.notifier.config import SETTINGS
from services.notifier.delivery import DELIVERER, ELSEWHERE, Notification
from services.notifier.metrics import NOTIFIER_METRICS

log = logging.getLogger(__name__)
T = TypeVar("T")

OTP_QUEUE = "notifier.otp"
USERS_QUEUE = "notifier.users"
MESSAGES_QUEUE = "notifier.messages"
QUEUES = (OTP_QUEUE, USERS_QUEUE, MESSAGES_QUEUE)


def subscriptions(app: web.Application) -> list[Subscription]:
    """The notifier's queues with handlers bound to `app` (whose resources they use when called)."""
    on_user = partial(on_user_changed, app)
    return [
        # Codes have a queue of their own, so they never wait behind anything else, and a high
        # prefetch, so that one slow delivery being retried does not hold the others back.
        Subscription(OTP_QUEUE, {"otp.requested": partial(on_otp_requested, app)},
                     prefetch=32, delivery_limit=5),
        Subscription(USERS_QUEUE, {"user.created": on_user, "user.updated": on_user},
                     prefetch=16, delivery_limit=10),
        # Alerts on a queue of their own, never the codes': handling these events only updates the
        # database; the alert worker sends what is due.
        Subscription(MESSAGES_QUEUE, {"message.created": partial(alerts.on_message_created, app),
                                      "message.read": partial(alerts.on_message_read, app)},
                     prefetch=16, delivery_limit=10),
    ]


def checked(parse: Callable[..., T], *args: object) -> T:
    """Parse, turning data that can never be handled into a dead letter."""
    try:
        return parse(*args)
    except domain.InvalidEvent as exc:
        raise PermanentFailure(str(exc)) from None


async def on_otp_requested(app: web.Application, event: Event) -> None:
    request = checked(domain.parse_otp_request, event.data)
    pool = app[DELIVERER].pool  # the codes' own connections
    if await was_processed(pool, event.id):
        log.info("duplicate event ignored", extra={"event_type": event.type})
        return
    settings = app[SETTINGS]
    locale = await storage.fetch_contact_locale(pool, request.user_id)
    message = domain.otp_message(request, locale, settings.timezone)
    result = await app[DELIVERER].deliver(
        Notification(event, "otp", request.user_id, message, deadline=request.expires_at)
    )
    if result.status == ELSEWHERE:
        log.info("duplicate event left to the consumer that has it", extra={"event_type": event.type})
    if result.accepted_at is not None:
        observe_otp_latency(app, event, request.channel, result.accepted_at)


def observe_otp_latency(app: web.Application, event: Event, channel: str, accepted_at: datetime) -> None:
    try:
        occurred = domain.parse_time(event.occurred_at)
    except domain.InvalidEvent:
        return
    seconds = (accepted_at - occurred).total_seconds()
    app[NOTIFIER_METRICS].otp_latency(channel=channel).observe(max(seconds, 0.0))


async def on_user_changed(app: web.Application, event: Event) -> None:
    contact = checked(domain.parse_contact, event.data)
    occurred_at = checked(domain.parse_time, event.occurred_at)
    async with app[DB].acquire() as conn, conn.transaction():
        if not await claim_event(conn, event):
            log.info("duplicate event ignored", extra={"event_type": event.type})
            return
        written = await storage.upsert_contact(conn, contact, occurred_at, event.id)
    if not written:
        log.info("contact change older than the one stored, ignored", extra={"event_type": event.type})

