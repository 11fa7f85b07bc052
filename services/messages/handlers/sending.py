"""POST /v1/messages: checks and stores a message, its recipients and its event in one statement."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

import asyncpg
from aiohttp import web

from services.common import idempotency
from services.common.errors import Problem, field_error, invalid, not_found
from services.common.web import DB, authenticate, json_response, read_json
from services.messages import domain, events, storage
from services.messages.schemas import NewMessage


async def send_message(request: web.Request) -> web.Response:
    caller = await authenticate(request)
    key = idempotency.idempotency_key(request)
    raw = await request.read()
    body = await read_json(request, NewMessage)
    sender_id = uuid.UUID(caller.user_id)
    recipients = domain.unique_recipients(body.recipient_ids)
    problem = domain.recipients_problem(sender_id, recipients)
    if problem:
        raise invalid("recipient_ids", problem)
    pool = request.app[DB]
    if key is None:
        # The hot path: one statement, one round trip, its own transaction.
        view = await create_message(pool, sender_id, body, recipients)
        return json_response(view, status=201)
    async with pool.acquire() as conn, conn.transaction():
        stored = await idempotency.claim_key(conn, caller.user_id, key,
                                             idempotency.fingerprint(request, raw))
        if stored is not None:
            return json_response(stored.body, status=stored.status)
        view = await create_message(conn, sender_id, body, recipients)
        await idempotency.store_answer(conn, caller.user_id, key, 201, view)
    return json_response(view, status=201)


async def create_message(conn: asyncpg.Connection | asyncpg.Pool, sender_id: uuid.UUID,
                         body: NewMessage, recipients: list[uuid.UUID]) -> dict[str, Any]:
    """Store the message if the sender and recipients may exchange it; its view for the sender."""
    row = storage.NewMessageRow(uuid.uuid4(), body.plan_id, sender_id, recipients, body.subject,
                                body.body, body.in_reply_to, datetime.now(UTC))
    event = events.message_created(row.id, row.plan_id, sender_id, recipients, row.created_at)
    result = await storage.insert_message(conn, row, event)
    check_result(result)
    return domain.message_view({
        "id": row.id, "plan_id": row.plan_id, "thread_id": result["thread_id"],
        "in_reply_to": row.in_reply_to, "sender_id": sender_id, "sender_name": result["sender_name"],
        "subject": row.subject, "body": row.body, "created_at": row.created_at,
        "recipients": result["recipients"],
    }, sender_id)


def check_result(result: asyncpg.Record) -> None:
    # A plan the caller takes no part in is one they may not see: 404, as if it did not exist,
    # and before anything about its participants is told.
    if not result["sender_ok"]:
        raise not_found("plan")
    if not result["recipients_ok"]:
        raise Problem(422, "Every recipient must be a participant of the plan.", errors=[
            field_error("recipient_ids", f"{outsider} is not a participant of the plan")
            for outsider in result["outsiders"]
        ])
    if not result["parent_ok"]:
        raise invalid("in_reply_to", "is not a message you can see in this plan")
