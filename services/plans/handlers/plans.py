"""Creating plans, the caller's list of plans, a plan's home page and its access log."""

from __future__ import annotations

import uuid
from typing import Any

import asyncpg
from aiohttp import web

from services.common.errors import Problem, field_error, forbidden
from services.common.outbox import add_event
from services.common.web import DB, authenticate, json_response, page_limit, read_json
from services.plans import domain, events, storage
from services.plans.config import SETTINGS
from services.plans.handlers.base import (
    caller_in_plan,
    create_once,
    page,
    page_after,
    user_uuid,
    visible,
)
from services.plans.schemas import NewPlan

HOME, ACCESS_LOG = "plan", "access-log"


async def create_plan(request: web.Request) -> web.Response:
    caller = await authenticate(request)
    if not caller.is_admin:
        raise forbidden("Only administrators create plans.")
    body = await read_json(request, NewPlan)
    me = user_uuid(caller)
    async with request.app[DB].acquire() as conn, conn.transaction():
        return await create_once(request, conn, me, lambda conn: insert_plan(conn, body, me))


async def insert_plan(conn: asyncpg.Connection, body: NewPlan, created_by: uuid.UUID
                      ) -> dict[str, Any]:
    """The plan, its owner and coordinator as its first participants, and their events."""
    named = {"owner_id": body.owner_id, "coordinator_id": body.coordinator_id}
    users = await storage.fetch_users(conn, list(named.values()))
    unknown = [field for field, user_id in named.items() if user_id not in users]
    if unknown:
        raise Problem(422, "Plans does not know that user (yet).",
                      errors=[field_error(field, "is not a known user") for field in unknown])
    plan_id = uuid.uuid4()
    plan = await storage.insert_plan(conn, plan_id, body.title, body.owner_id, created_by)
    await add_event(conn, events.PLAN_CREATED,
                    events.plan_created(plan_id, body.title, body.owner_id, body.coordinator_id))
    # Also as participant_added, so that consumers build membership from one kind of event.
    for user_id, role in ((body.owner_id, domain.OWNER), (body.coordinator_id, domain.COORDINATOR)):
        await storage.insert_participant(conn, plan_id, user_id, role, created_by)
        await add_event(conn, events.PARTICIPANT_ADDED,
                        events.participant_changed(plan_id, user_id, role))
    return domain.plan_view(plan, users[body.owner_id], users[body.coordinator_id])


async def list_plans(request: web.Request) -> web.Response:
    me = user_uuid(await authenticate(request))
    limit = page_limit(request)
    before = page_after(request, (domain.MAX_TIME, domain.MAX_ID))
    rows = await storage.fetch_plans_page(request.app[DB], me, before, limit + 1)
    return json_response(page(rows, limit, domain.plan_summary_view,
                              lambda r: domain.time_id_key(r["added_at"], r["id"])))


async def get_plan(request: web.Request) -> web.Response:
    me, plan_id = await caller_in_plan(request)
    rows = await storage.fetch_home(request.app[DB], plan_id, me, HOME, domain.COORDINATOR,
                                    request.app[SETTINGS].upcoming_events)
    visible(rows, "plan")
    return json_response(domain.home_view(rows))


async def get_access_log(request: web.Request) -> web.Response:
    me, plan_id = await caller_in_plan(request)
    limit = page_limit(request)
    before = page_after(request, (domain.MAX_TIME, domain.MAX_SERIAL), serial=True)
    rows = await storage.fetch_access_log_page(request.app[DB], plan_id, me, ACCESS_LOG,
                                               domain.ACCESS_LOG_READERS, before, limit + 1)
    entries = visible(rows, "plan")
    # The caller sees the plan, so this is 403 rather than 404.
    if not domain.can_read_access_log(rows[0]["my_role"]):
        raise forbidden("Only the plan's owner and coordinators see its access log.")
    return json_response(page(entries, limit, domain.access_entry_view,
                              lambda r: domain.time_id_key(r["at"], r["id"])))
