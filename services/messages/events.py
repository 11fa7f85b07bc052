"""Events: the message.created / message.read builders, and the queues and handlers that keep the
service's copies of users' names and plans' participants."""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable, Sequence
from datetime import datetime
from functools import partial
from typing import TypeVar

from aiohttp import web

from services.common.consumer import PermanentFailure, Subscription, claim_event
from services.common.events import Event, new_event
from services.common.web import DB
from services.messages import domain, storage

log = logging.getLogger(__name__)
T = TypeVar("T")

USERS_QUEUE = "messages.users"
PLANS_QUEUE = "messages.plans"
QUEUES = (USERS_QUEUE, PLANS_QUEUE)


# --- outgoing --------------------------------------------------------------------------------------

def message_created(message_id: uuid.UUID, plan_id: uuid.UUID, sender_id: uuid.UUID,
                    recipient_ids: Sequence[uuid.UUID], created_at: datetime) -> Event:
    data = domain.message_created_data(message_id, plan_id, sender_id, recipient_ids, created_at)
    return new_event("message.created", data, created_at)


def message_read(message_id: uuid.UUID, user_id: uuid.UUID, read_at: datetime) -> Event:
    return new_event("message.read", domain.message_read_data(message_id, user_id, read_at), read_at)


# --- incoming --------------------------------------------------------------------------------------

def subscriptions(app: web.Application) -> list[Subscription]:
    """The service's queues with handlers bound to `app` (whose pool they use when called)."""
    on_user = partial(on_user_changed, app)
    return [
        Subscription(USERS_QUEUE, {"user.created": on_user, "user.updated": on_user}),
        Subscription(PLANS_QUEUE, {
            "plan.created": partial(on_plan_created, app),
            "plan.participant_added": partial(on_participant_changed, app, True),
            "plan.participant_removed": partial(on_participant_changed, app, False),
        }),
    ]


def checked(parse: Callable[..., T], *args: object) -> T:
    """Parse, turning data that can never be handled into a dead letter."""
    try:
        return parse(*args)
    except domain.InvalidEvent as exc:
        raise PermanentFailure(str(exc)) from None


async def on_user_changed(app: web.Application, event: Event) -> None:
    user = checked(domain.parse_user, event.data)
    occurred_at = checked(domain.parse_time, event.occurred_at)
    async with app[DB].acquire() as conn, conn.transaction():
        if not await claim_event(conn, event):
            log.info("duplicate event ignored", extra={"event_type": event.type})
            return
        written = await storage.upsert_user(conn, user.user_id, user.display_name, occurred_at, event.id)
    if not written:
        log.info("user change older than the one stored, ignored", extra={"event_type": event.type})


async def on_plan_created(app: web.Application, event: Event) -> None:
    await record_memberships(app, event, checked(domain.founding_members, event.data), active=True)


async def on_participant_changed(app: web.Application, added: bool, event: Event) -> None:
    membership = checked(domain.parse_membership, event.data, added)
    await record_memberships(app, event, [membership], active=added)


async def record_memberships(app: web.Application, event: Event, memberships: list[domain.Membership],
                             active: bool) -> None:
    occurred_at = checked(domain.parse_time, event.occurred_at)
    async with app[DB].acquire() as conn, conn.transaction():
        if not await claim_event(conn, event):
            log.info("duplicate event ignored", extra={"event_type": event.type})
            return
        for m in memberships:
            written = await storage.upsert_member(conn, m.plan_id, m.user_id, m.role, active,
                                                  occurred_at, event.id)
            if not written:
                log.info("membership change older than the one stored, ignored",
                         extra={"event_type": event.type})
