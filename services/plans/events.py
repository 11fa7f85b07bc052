"""Plans' outgoing event payloads, and its queue of incoming user events with their handlers."""

from __future__ import annotations

import logging
import uuid
from functools import partial
from typing import Any

from aiohttp import web

from services.common.consumer import PermanentFailure, Subscription, claim_event
from services.common.events import Event
from services.common.web import DB
from services.plans import domain, storage

log = logging.getLogger(__name__)

USERS_QUEUE = "plans.users"
QUEUES = (USERS_QUEUE,)

PLAN_CREATED = "plan.created"
PARTICIPANT_ADDED = "plan.participant_added"
PARTICIPANT_REMOVED = "plan.participant_removed"


# --- outgoing ---------------------------------------------------------------------------------

def plan_created(plan_id: uuid.UUID, title: str, owner_id: uuid.UUID, coordinator_id: uuid.UUID
                 ) -> dict[str, Any]:
    return {"plan_id": str(plan_id), "title": title, "owner_id": str(owner_id),
            "coordinator_id": str(coordinator_id)}


def participant_changed(plan_id: uuid.UUID, user_id: uuid.UUID, role: str) -> dict[str, Any]:
    """The data of plan.participant_added and plan.participant_removed."""
    return {"plan_id": str(plan_id), "user_id": str(user_id), "role": role}


# --- incoming ---------------------------------------------------------------------------------

def subscriptions(app: web.Application) -> list[Subscription]:
    """Plans' queues with handlers bound to `app` (whose pool they use when called)."""
    on_user = partial(on_user_changed, app)
    return [Subscription(USERS_QUEUE, {"user.created": on_user, "user.updated": on_user})]


async def on_user_changed(app: web.Application, event: Event) -> None:
    """Keep the copy of the user; a duplicate event, or one older than what is stored, does nothing."""
    try:
        user = domain.parse_user(event.data)
        occurred_at = domain.parse_occurred_at(event.occurred_at)
    except domain.InvalidEvent as exc:
        raise PermanentFailure(str(exc)) from None
    async with app[DB].acquire() as conn, conn.transaction():
        if not await claim_event(conn, event):
            log.info("duplicate event ignored", extra={"event_type": event.type})
            return
        written = await storage.upsert_user(conn, user, occurred_at, event.id)
    if not written:
        log.info("user change older than the one stored, ignored", extra={"event_type": event.type})
