"""Goals with their activities: everyone in the plan reads them, its coordinators manage them."""

from __future__ import annotations

import uuid
from typing import Any

import asyncpg
from aiohttp import web

from services.common.errors import invalid, not_found
from services.common.web import DB, json_response, page_limit, path_uuid, read_json
from services.plans import domain, storage
from services.plans.handlers.base import (
    caller_in_plan,
    changes_of,
    create_once,
    page,
    page_after,
    require_role,
    visible,
)
from services.plans.schemas import ActivityChange, GoalChange, NewActivity, NewGoal

RESOURCE = "goals"


async def list_goals(request: web.Request) -> web.Response:
    me, plan_id = await caller_in_plan(request)
    limit = page_limit(request)
    after = page_after(request, (domain.MIN_TIME, domain.MIN_ID))
    rows = await storage.fetch_goals_page(request.app[DB], plan_id, me, RESOURCE, after, limit + 1)
    return json_response(page(visible(rows, "plan"), limit, domain.goal_view,
                              lambda r: domain.time_id_key(r["created_at"], r["id"])))


async def create_goal(request: web.Request) -> web.Response:
    me, plan_id = await caller_in_plan(request)
    body = await read_json(request, NewGoal)

    async def make(conn: asyncpg.Connection) -> dict[str, Any]:
        row = await storage.insert_goal(conn, uuid.uuid4(), plan_id, body.title, body.description)
        return domain.goal_view(row)

    async with request.app[DB].acquire() as conn, conn.transaction():
        await require_role(conn, plan_id, me, manage=True)
        return await create_once(request, conn, me, make)


async def update_goal(request: web.Request) -> web.Response:
    me, plan_id = await caller_in_plan(request)
    goal_id = path_uuid(request, "goal_id")
    changes = changes_of((await read_json(request, GoalChange)).changes())
    async with request.app[DB].acquire() as conn, conn.transaction():
        await require_role(conn, plan_id, me, manage=True)
        row = await storage.update_goal(conn, plan_id, goal_id, changes)
    if row is None:
        raise not_found("goal")
    return json_response(domain.goal_view(row))


async def check_responsible(conn: asyncpg.Connection, plan_id: uuid.UUID,
                            responsible_id: uuid.UUID | None) -> None:
    if responsible_id is not None and not await storage.is_participant(conn, plan_id,
                                                                        responsible_id):
        raise invalid("responsible_id", "is not a participant of this plan")


async def create_activity(request: web.Request) -> web.Response:
    me, plan_id = await caller_in_plan(request)
    goal_id = path_uuid(request, "goal_id")
    body = await read_json(request, NewActivity)

    async def make(conn: asyncpg.Connection) -> dict[str, Any]:
        await check_responsible(conn, plan_id, body.responsible_id)
        row = await storage.insert_activity(conn, uuid.uuid4(), plan_id, goal_id, body.title,
                                            body.description, body.due_date, body.responsible_id)
        if row is None:
            raise not_found("goal")
        return domain.activity_view(row)

    async with request.app[DB].acquire() as conn, conn.transaction():
        await require_role(conn, plan_id, me, manage=True)
        return await create_once(request, conn, me, make)


async def update_activity(request: web.Request) -> web.Response:
    me, plan_id = await caller_in_plan(request)
    activity_id = path_uuid(request, "activity_id")
    changes = changes_of((await read_json(request, ActivityChange)).changes())
    async with request.app[DB].acquire() as conn, conn.transaction():
        await require_role(conn, plan_id, me, manage=True)
        await check_responsible(conn, plan_id, changes.get("responsible_id"))
        if "goal_id" in changes and not await storage.goal_in_plan(conn, plan_id,
                                                                   changes["goal_id"]):
            raise invalid("goal_id", "is not a goal of this plan")
        row = await storage.update_activity(conn, plan_id, activity_id, changes)
    if row is None:
        raise not_found("activity")
    return json_response(domain.activity_view(row))
