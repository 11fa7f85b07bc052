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
    async with app[DB].acquire() as conn, conn.transaction():
        if not await claim_event(conn, event):
            log.info("duplicate event ignored", extra={"event_type": event.type})
            return
        outcomes = await note_new_message(conn, settings, recipients, created.message_id,
                                          datetime.now(UTC))
    for outcome in outcomes:
        app[NOTIFIER_METRICS].alerts(outcome=outcome).inc()
    if domain.SCHEDULE in outcomes:
        app[ALERT_WORKER].wake()
    log.info("message alerts planned", extra={"event_type": event.type, "recipients": len(recipients),
                                              "scheduled": outcomes.count(domain.SCHEDULE)})


async def note_new_message(conn: asyncpg.Connection, settings: AlertSettings, user_ids: list[uuid.UUID],
                           message_id: uuid.UUID, now: datetime) -> list[str]:
    """Count the message unread for each recipient and decide on their alert (a few statements
    for all of them); what was decided, per recipient."""
    schedules = await storage.lock_alert_schedules(conn, user_ids)
    unread = await storage.add_unread(conn, user_ids, message_id)
    outcomes: list[str] = []
    planned: list[storage.PlannedAlert] = []
    for user_id in user_ids:
        outcome, due_at = decide(settings, schedules[user_id], unread[user_id], now)
        outcomes.append(outcome)
        if due_at is not None:
            deadline = due_at + timedelta(seconds=settings.retry_horizon_seconds)
            planned.append(storage.PlannedAlert(user_id, uuid.uuid4(), due_at, deadline))
    if planned:
        await storage.schedule_alerts(conn, planned)
    return outcomes


def decide(settings: AlertSettings, schedule: asyncpg.Record, unread: asyncpg.Record, now: datetime
           ) -> tuple[str, datetime | None]:
    """What a new message does for one recipient, and when their alert is due if one is scheduled."""
    if not unread["added"]:
        return READ_ALREADY, None
    # Checked when the message arrives: someone who adds an address later is not alerted about it.
    if domain.alert_destination(schedule) is None:  # the schedule row carries the contact
        return NO_CHANNEL, None
    decision = domain.next_alert(domain.AlertSchedule(schedule["alert_id"], schedule["last_alert_at"]),
                                 unread["had_unread"], now, timedelta(seconds=settings.window_seconds))
    return decision.action, decision.due_at if decision.action == domain.SCHEDULE else None


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
