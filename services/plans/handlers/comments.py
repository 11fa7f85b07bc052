"""Comments and status updates on goals and activities: every participant reads and writes them."""

from __future__ import annotations

import uuid
from typing import Any

import asyncpg
from aiohttp import web

from services.common.errors import not_found
from services.common.web import DB, json_response, page_limit, path_uuid, read_json
from services.plans import domain, storage
from services.plans.handlers.base import (
    caller_in_plan,
    create_once,
    page,
    page_after,
    require_role,
    visible,
)
from services.plans.schemas import NewComment
from services.plans.storage import Target

RESOURCES = {"goal": domain.goal_comments_resource, "activity": domain.activity_comments_resource}


async def list_comments(request: web.Request, target: Target) -> web.Response:
    me, plan_id = await caller_in_plan(request)
    target_id = path_uuid(request, f"{target}_id")
    limit = page_limit(request)
    after = page_after(request, (domain.MIN_TIME, domain.MIN_ID))
    rows = await storage.fetch_comments_page(request.app[DB], target, plan_id, me,
                                             RESOURCES[target](target_id), target_id, after,
                                             limit + 1)
    return json_response(page(visible(rows, target), limit, domain.comment_view,
                              lambda r: domain.time_id_key(r["created_at"], r["id"])))


async def add_comment(request: web.Request, target: Target) -> web.Response:
    """A comment; one that carries a status also sets the goal's or activity's status."""
    me, plan_id = await caller_in_plan(request)
    target_id = path_uuid(request, f"{target}_id")
    body = await read_json(request, NewComment)

    async def make(conn: asyncpg.Connection) -> dict[str, Any]:
        row = await storage.insert_comment(conn, target, uuid.uuid4(), plan_id, target_id, me,
                                           body.text, body.status)
        if row is None:
            raise not_found(target)
        return domain.comment_view(row)

    async with request.app[DB].acquire() as conn, conn.transaction():
        await require_role(conn, plan_id, me)
        return await create_once(request, conn, me, make)


async def list_goal_comments(request: web.Request) -> web.Response:
    return await list_comments(request, "goal")


async def comment_on_goal(request: web.Request) -> web.Response:
    return await add_comment(request, "goal")


async def list_activity_comments(request: web.Request) -> web.Response:
    return await list_comments(request, "activity")


async def comment_on_activity(request: web.Request) -> web.Response:
    return await add_comment(request, "activity")
