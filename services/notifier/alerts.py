"""Message alerts from events: message.created and message.read keep each recipient's unread messages
and alert schedule, in the same transaction as the event is recorded processed."""

from __future__ import annotations

import logging
import uuid
from datetime import UTC, datetime, timedelta

import asyncpg
from aiohttp import web

from services.common.consumer import PermanentFailure, claim_event
from services.common.events import Event
from services.common.web import DB
from services.notifier import domain, storage
from services.notifier.alert_worker import ALERT_WORKER
from services.notifier.config import SETTINGS, AlertSettings
from services.notifier.metrics import NOTIFIER_METRICS

log = logging.getLogger(__name__)

# A recipient who gets no alert: the message was read already, or they have no channel for it.
READ_ALREADY = "read_already"
NO_CHANNEL = "no_channel"


async def on_message_created(app: web.Application, event: Event) -> None:
    try:
        created = domain.parse_message_created(event.data)
    except domain.InvalidEvent as exc:
        raise PermanentFailure(str(exc)) from None
    settings = app[SETTINGS].alerts
    # Sorted, so that two events for the same people lock their schedules in the same order.
    recipients = sorted(set(created.recipient_ids) - {created.sender_id})
    outcomes = []
    async with app[DB].acquire() as conn, conn.transaction():
        if not await claim_event(conn, event):
            log.info("duplicate event ignored", extra={"event_type": event.type})
            return
        contacts = await storage.fetch_contacts(conn, recipients)
        now = datetime.now(UTC)
        for user_id in recipients:
            outcomes.append(await note_new_message(conn, settings, user_id, created.message_id,
                                                   contacts.get(user_id), now))
    for outcome in outcomes:
        app[NOTIFIER_METRICS].alerts(outcome=outcome).inc()
    if domain.SCHEDULE in outcomes:
        app[ALERT_WORKER].wake()
    log.info("message alerts planned", extra={"event_type": event.type, "recipients": len(recipients),
                                              "scheduled": outcomes.count(domain.SCHEDULE)})


async def note_new_message(conn: asyncpg.Connection, settings: AlertSettings, user_id: uuid.UUID,
                           message_id: uuid.UUID, contact: asyncpg.Record | None, now: datetime) -> str:
    """Count the message unread for the user and decide on their alert; what was decided."""
    row = await storage.lock_alert_schedule(conn, user_id)
    unread = await storage.add_unread(conn, user_id, message_id)
    if not unread["added"]:
        return READ_ALREADY
    # Checked when the message arrives: someone who adds an address later is not alerted about it.
    if domain.alert_destination(contact) is None:
        return NO_CHANNEL
    schedule = domain.AlertSchedule(row["alert_id"], row["last_alert_at"])
    decision = domain.next_alert(schedule, unread["had_unread"], now,
                                 timedelta(seconds=settings.window_seconds))
    if decision.action == domain.SCHEDULE:
        assert decision.due_at is not None
        deadline = decision.due_at + timedelta(seconds=settings.retry_horizon_seconds)
        await storage.schedule_alert(conn, user_id, uuid.uuid4(), decision.due_at, deadline)
    return decision.action


async def on_message_read(app: web.Application, event: Event) -> None:
    try:
        read = domain.parse_message_read(event.data)
    except domain.InvalidEvent as exc:
        raise PermanentFailure(str(exc)) from None
    async with app[DB].acquire() as conn, conn.transaction():
        if not await claim_event(conn, event):
            log.info("duplicate event ignored", extra={"event_type": event.type})
            return
        await storage.lock_alert_schedule(conn, read.user_id)
        unannounced = await storage.remove_unread(conn, read.user_id, read.message_id)
        # Nothing left that an alert would be about: the one waiting would only disturb.
        cancelled = not unannounced and await storage.cancel_waiting_alert(conn, read.user_id)
    if cancelled:
        app[NOTIFIER_METRICS].alerts(outcome="cancelled").inc()
        log.info("waiting alert cancelled: what it was for is read", extra={"event_type": event.type})
