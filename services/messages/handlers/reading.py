"""Reading messages: the inbox and sent folders, one message, marking it read, unread counts."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

from aiohttp import web

from services.common.errors import Problem, field_error, invalid, not_found
from services.common.web import (
    DB,
    authenticate,
    decode_cursor,
    encode_cursor,
    json_response,
    page_limit,
    path_uuid,
    query_uuid,
)
from services.messages import domain, events, storage


def query_choice(request: web.Request, name: str, choices: tuple[str, ...], default: str) -> str:
    value = request.query.get(name, default)
    if value not in choices:
        raise invalid(name, f"must be one of {', '.join(choices)}")
    return value


def page_query(request: web.Request, user_id: uuid.UUID, fetch: int) -> storage.PageQuery:
    unread = query_choice(request, "unread", ("true", "false"), "false") == "true"
    values = decode_cursor(request, 2)
    after = None
    if values is not None:
        try:
            after = domain.parse_cursor(values)
        except ValueError:
            raise Problem(422, "cursor is not one this service gave out.",
                          errors=[field_error("cursor", "invalid cursor")]) from None
    return storage.PageQuery(user_id, query_uuid(request, "plan_id"), unread, after, fetch)


async def list_messages(request: web.Request) -> web.Response:
    caller = await authenticate(request)
    folder = query_choice(request, "folder", domain.FOLDERS, "inbox")
    size = page_limit(request)
    # One row more than the page, to know whether there is a next page.
    query = page_query(request, uuid.UUID(caller.user_id), size + 1)
    if folder == "inbox":
        rows = await storage.fetch_inbox_page(request.app[DB], query)
        items = [domain.inbox_item(row) for row in rows[:size]]
    else:
        rows = await storage.fetch_sent_page(request.app[DB], query)
        items = [domain.sent_item(row) for row in rows[:size]]
    next_cursor = encode_cursor(domain.cursor_values(rows[size - 1])) if len(rows) > size else None
    return json_response({"items": items, "next_cursor": next_cursor})


async def get_message(request: web.Request) -> web.Response:
    caller = await authenticate(request)
    message_id = path_uuid(request, "message_id")
    viewer_id = uuid.UUID(caller.user_id)
    row = await storage.fetch_message(request.app[DB], message_id, viewer_id)
    if row is None:
        raise not_found("message")
    return json_response(domain.message_view(row, viewer_id))


async def mark_read(request: web.Request) -> web.Response:
    caller = await authenticate(request)
    message_id = path_uuid(request, "message_id")
    user_id = uuid.UUID(caller.user_id)
    read_at = datetime.now(UTC)
    event = events.message_read(message_id, user_id, read_at)
    result = await storage.mark_read(request.app[DB], message_id, user_id, read_at, event)
    # Only a recipient has a read state; for the sender and everyone else the message is not
    # there to be read (and for a stranger must not be told apart from one that does not exist).
    if not result["is_recipient"]:
        raise not_found("message")
    return web.Response(status=204)


async def unread_count(request: web.Request) -> web.Response:
    caller = await authenticate(request)
    plan_id = query_uuid(request, "plan_id")
    count = await storage.count_unread(request.app[DB], uuid.UUID(caller.user_id), plan_id)
    return json_response({"unread": count})
