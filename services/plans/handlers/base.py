"""What plans handlers share: the caller, their role in a plan, pages, cursors, idempotent creation."""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable, Mapping, Sequence
from datetime import datetime
from typing import Any

import asyncpg
from aiohttp import web

from services.common import idempotency
from services.common.errors import Problem, field_error, forbidden, invalid, not_found, unauthorized
from services.common.tokens import Caller
from services.common.web import authenticate, decode_cursor, encode_cursor, json_response, path_uuid
from services.plans import domain, storage
from services.plans.storage import After

Row = Mapping[str, Any]


def user_uuid(caller: Caller) -> uuid.UUID:
    try:
        return uuid.UUID(caller.user_id)
    except ValueError:
        raise unauthorized("The access token names no valid user.") from None


async def caller_in_plan(request: web.Request) -> tuple[uuid.UUID, uuid.UUID]:
    """(the caller's user id, the plan id in the path): 401 before anything else is looked at."""
    caller = await authenticate(request)
    return user_uuid(caller), path_uuid(request, "plan_id")


async def require_role(conn: asyncpg.Connection, plan_id: uuid.UUID, user_id: uuid.UUID,
                       manage: bool = False) -> str:
    """The caller's role in the plan, locked for this transaction. A plan the caller is not in
    is 404, never 403, so that outsiders cannot learn which plans exist."""
    role = await storage.lock_membership(conn, plan_id, user_id)
    if role is None:
        raise not_found("plan")
    if manage and not domain.can_manage(role):
        raise forbidden("Only the plan's coordinators may do this.")
    return role


def page_after(request: web.Request, first: After, serial: bool = False) -> After:
    """Where the page starts: after the cursor's sort key, or after `first` on the first page."""
    values = decode_cursor(request, 2)
    if values is None:
        return first
    try:
        return domain.parse_time_id_key(values, serial)
    except ValueError:
        raise Problem(422, "cursor is not one this service gave out.",
                      errors=[field_error("cursor", "invalid cursor")]) from None


def page(rows: Sequence[Row], limit: int, view: Callable[[Row], dict[str, Any]],
         key: Callable[[Row], list[Any]]) -> dict[str, Any]:
    """`{"items", "next_cursor"}` from up to limit + 1 rows (one more tells there is a next page)."""
    shown = rows[:limit]
    next_cursor = encode_cursor(key(shown[-1])) if len(rows) > limit else None
    return {"items": [view(row) for row in shown], "next_cursor": next_cursor}


def visible(rows: Sequence[Row], what: str, column: str = "id") -> list[Row]:
    """The list rows of a read that checked membership: no row at all means 404; a row whose
    `column` is null is the one a visible but empty list leaves."""
    if not rows:
        raise not_found(what)
    return [row for row in rows if row[column] is not None]


def query_time(request: web.Request, name: str) -> datetime | None:
    raw = request.query.get(name)
    if raw is None or raw == "":
        return None
    try:
        return domain.parse_rfc3339(raw)
    except ValueError as exc:
        raise invalid(name, str(exc)) from None


def changes_of(changes: dict[str, Any]) -> dict[str, Any]:
    if not changes:
        raise Problem(422, "The body names no field to change.",
                      errors=[field_error("", "give at least one field")])
    return changes


async def create_once(request: web.Request, conn: asyncpg.Connection, user_id: uuid.UUID,
                      make: Callable[[asyncpg.Connection], Awaitable[dict[str, Any]]]
                      ) -> web.Response:
    """201 with what `make(conn)` creates in the caller's transaction; with an Idempotency-Key seen
    before from this caller, the first answer again and nothing new."""
    key = idempotency.idempotency_key(request)
    if key is not None:
        fingerprint = idempotency.fingerprint(request, await request.read())
        stored = await idempotency.claim_key(conn, str(user_id), key, fingerprint)
        if stored is not None:
            return json_response(stored.body, status=stored.status)
    view = await make(conn)
    if key is not None:
        await idempotency.store_answer(conn, str(user_id), key, 201, view)
    return json_response(view, status=201)
