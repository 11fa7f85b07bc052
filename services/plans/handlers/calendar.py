"""A plan's calendar: events in a time range for everyone in it, managed by its coordinators."""

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
    query_time,
    require_role,
    visible,
)
from services.plans.schemas import EventChange, NewEvent

RESOURCE = "events"


async def list_events(request: web.Request) -> web.Response:
    """Events that overlap [from, to), by start; either end of the range may be left open."""
    me, plan_id = await caller_in_plan(request)
    start = query_time(request, "from") or domain.MIN_TIME
    end = query_time(request, "to") or domain.MAX_TIME
    if end <= start:
        raise invalid("to", "must be after from")
    limit = page_limit(request)
    after = page_after(request, (domain.MIN_TIME, domain.MIN_ID))
    rows = await storage.fetch_events_page(request.app[DB], plan_id, me, RESOURCE, start, end,
                                           after, limit + 1)
    return json_response(page(visible(rows, "plan"), limit, domain.event_view,
                              lambda r: domain.time_id_key(r["starts_at"], r["id"])))


async def create_event(request: web.Request) -> web.Response:
    me, plan_id = await caller_in_plan(request)
    body = await read_json(request, NewEvent)

    async def make(conn: asyncpg.Connection) -> dict[str, Any]:
        row = await storage.insert_event(conn, uuid.uuid4(), plan_id, body.title, body.starts_at,
                                         body.ends_at, body.location, body.description, me)
        return domain.event_view(row)

    async with request.app[DB].acquire() as conn, conn.transaction():
        await require_role(conn, plan_id, me, manage=True)
        return await create_once(request, conn, me, make)


async def update_event(request: web.Request) -> web.Response:
    me, plan_id = await caller_in_plan(request)
    event_id = path_uuid(request, "event_id")
    changes = changes_of((await read_json(request, EventChange)).changes())
    async with request.app[DB].acquire() as conn, conn.transaction():
        await require_role(conn, plan_id, me, manage=True)
        current = await storage.lock_event(conn, plan_id, event_id)
        if current is None:
            raise not_found("event")
        merged = {**dict(current), **changes}
        if merged["ends_at"] <= merged["starts_at"]:
            raise invalid("ends_at", "must be after starts_at")
        row = await storage.update_event(conn, event_id, changes)
    return json_response(domain.event_view(row))
