"""The `Idempotency-Key` header: the same key from the same caller within 24 h replays the first answer."""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from typing import Any

import asyncpg
from aiohttp import web

from services.common.errors import Problem, field_error

KEY_PATTERN = re.compile(r"^[\x21-\x7e]{1,200}$")


@dataclass(frozen=True)
class StoredAnswer:
    status: int
    body: Any


def idempotency_key(request: web.Request) -> str | None:
    key = request.headers.get("Idempotency-Key")
    if key is None:
        return None
    if not KEY_PATTERN.match(key):
        raise Problem(422, "Idempotency-Key must be 1 to 200 visible ASCII characters.",
                      errors=[field_error("Idempotency-Key", "invalid")])
    return key


def fingerprint(request: web.Request, body: bytes) -> bytes:
    return hashlib.sha256(request.method.encode() + b" " + request.path.encode() + b"\n" + body).digest()


async def claim_key(
    conn: asyncpg.Connection, caller_id: str, key: str, request_fingerprint: bytes
) -> StoredAnswer | None:
    """In the caller's transaction: reserve the key, or return the answer stored for it.
    A concurrent request with the same key waits on the row until the first commits."""
    claimed = await conn.fetchval(
        "insert into idempotency_keys (caller_id, key, fingerprint) values ($1, $2, $3)"
        " on conflict (caller_id, key) do update set"
        "   fingerprint = excluded.fingerprint, status = null, body = null, created_at = now()"
        "   where idempotency_keys.created_at < now() - interval '24 hours'"
        " returning true",
        caller_id,
        key,
        request_fingerprint,
    )
    if claimed:
        return None
    row = await conn.fetchrow(
        "select fingerprint, status, body from idempotency_keys where caller_id = $1 and key = $2",
        caller_id,
        key,
    )
    if row["fingerprint"] != request_fingerprint:
        raise Problem(422, "This Idempotency-Key was used before for a different request.",
                      errors=[field_error("Idempotency-Key", "reused for another request")])
    return StoredAnswer(row["status"], row["body"])


async def store_answer(
    conn: asyncpg.Connection, caller_id: str, key: str, status: int, body: Any
) -> None:
    await conn.execute(
        "update idempotency_keys set status = $3, body = $4 where caller_id = $1 and key = $2",
        caller_id,
        key,
        status,
        body,
    )
