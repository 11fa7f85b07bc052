"""A plan's participants: listing them, and their coordinators adding and removing them."""

from __future__ import annotations

import uuid
from typing import Any

import asyncpg
from aiohttp import web

from services.common.errors import Problem, forbidden, invalid, not_found
from services.common.outbox import add_event
from services.common.web import DB, json_response, page_limit, path_uuid, read_json
from services.plans import domain, events, storage
from services.plans.handlers.base import (
    caller_in_plan,
    create_once,
    page,
    page_after,
    require_role,
    visible,
)
from services.plans.schemas import NewParticipant

RESOURCE = "participants"


async def list_participants(request: web.Request) -> web.Response:
    me, plan_id = await caller_in_plan(request)
    limit = page_limit(request)
    after = page_after(request, (domain.MIN_TIME, domain.MIN_ID))
    rows = await storage.fetch_participants_page(request.app[DB], plan_id, me, RESOURCE, after,
                                                 limit + 1)
    return json_response(page(visible(rows, "plan", "user_id"), limit, domain.participant_view,
                              lambda r: domain.time_id_key(r["added_at"], r["user_id"])))


async def add_participant(request: web.Request) -> web.Response:
    me, plan_id = await caller_in_plan(request)
    body = await read_json(request, NewParticipant)
    async with request.app[DB].acquire() as conn, conn.transaction():
        await require_role(conn, plan_id, me, manage=True)
        return await create_once(request, conn, me,
                                 lambda conn: insert_participant(conn, plan_id, body, me))


async def insert_participant(conn: asyncpg.Connection, plan_id: uuid.UUID, body: NewParticipant,
                             added_by: uuid.UUID) -> dict[str, Any]:
    row = await storage.insert_participant(conn, plan_id, body.user_id, body.role, added_by)
    if row is None:
        if not await storage.fetch_users(conn, [body.user_id]):
            raise invalid("user_id", "is not a known user")
        raise Problem(409, "That user already takes part in this plan.")
    await add_event(conn, events.PARTICIPANT_ADDED,
                    events.participant_changed(plan_id, body.user_id, body.role))
    return domain.participant_view(row)


async def remove_participant(request: web.Request) -> web.Response:
    me, plan_id = await caller_in_plan(request)
    user_id = path_uuid(request, "user_id")
    async with request.app[DB].acquire() as conn, conn.transaction():
        roles = await storage.lock_for_removal(conn, plan_id, [me, user_id], domain.COORDINATOR)
        if me not in roles:
            raise not_found("plan")
        if not domain.can_manage(roles[me]):
            raise forbidden("Only the plan's coordinators may do this.")
        if user_id not in roles:
            raise not_found("participant")
        coordinators = sum(role == domain.COORDINATOR for role in roles.values())
        problem = domain.removal_problem(roles[user_id], coordinators)
        if problem:
            raise Problem(409, problem)
        await storage.delete_participant(conn, plan_id, user_id)
        await add_event(conn, events.PARTICIPANT_REMOVED,
                        events.participant_changed(plan_id, user_id, roles[user_id]))
    return web.Response(status=204)
