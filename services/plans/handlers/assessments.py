"""Assessments (kartlegging): everyone in the plan reads them, its coordinators write them."""

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
    changes_of,
    create_once,
    page,
    page_after,
    require_role,
    visible,
)
from services.plans.schemas import AssessmentChange, NewAssessment

RESOURCE = "assessments"


async def list_assessments(request: web.Request) -> web.Response:
    me, plan_id = await caller_in_plan(request)
    limit = page_limit(request)
    before = page_after(request, (domain.MAX_TIME, domain.MAX_ID))
    rows = await storage.fetch_assessments_page(request.app[DB], plan_id, me, RESOURCE, before,
                                                limit + 1)
    return json_response(page(visible(rows, "plan"), limit, domain.assessment_view,
                              lambda r: domain.time_id_key(r["created_at"], r["id"])))


async def create_assessment(request: web.Request) -> web.Response:
    me, plan_id = await caller_in_plan(request)
    body = await read_json(request, NewAssessment)

    async def make(conn: asyncpg.Connection) -> dict[str, Any]:
        row = await storage.insert_assessment(conn, uuid.uuid4(), plan_id, body.title, body.text, me)
        return domain.assessment_view(row)

    async with request.app[DB].acquire() as conn, conn.transaction():
        await require_role(conn, plan_id, me, manage=True)
        return await create_once(request, conn, me, make)


async def update_assessment(request: web.Request) -> web.Response:
    me, plan_id = await caller_in_plan(request)
    assessment_id = path_uuid(request, "assessment_id")
    changes = changes_of((await read_json(request, AssessmentChange)).changes())
    async with request.app[DB].acquire() as conn, conn.transaction():
        await require_role(conn, plan_id, me, manage=True)
        row = await storage.update_assessment(conn, plan_id, assessment_id, changes)
    if row is None:
        raise not_found("assessment")
    return json_response(domain.assessment_view(row))
