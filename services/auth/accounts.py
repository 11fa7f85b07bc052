"""Use cases shared by the HTTP API and the command line: creating a user, issuing tokens."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import asyncpg
import jwt

from services.auth import domain, storage
from services.auth.config import Settings
from services.auth.keys import KeyRing
from services.auth.schemas import NewUser
from services.common.outbox import add_event
from services.common.tokens import ALGORITHM


async def create_user(conn: asyncpg.Connection, new_user: NewUser, password_hash: str
                      ) -> asyncpg.Record | None:
    """Insert the user and its `user.created` event in the caller's transaction;
    None when the username is taken."""
    fields = new_user.model_dump(exclude={"username", "password", "roles"})
    user = await storage.insert_user(conn, uuid.uuid4(), new_user.username, password_hash, fields,
                                     sorted(set(new_user.roles)))
    if user is not None:
        await add_event(conn, "user.created", domain.user_event_data(user))
    return user


async def republish_users(conn: asyncpg.Connection) -> int:
    """A user.updated event for every user, in the caller's transaction; how many."""
    users = await storage.fetch_all_users(conn)
    for user in users:
        await add_event(conn, "user.updated", domain.user_event_data(user))
    return len(users)


async def issue_tokens(conn: asyncpg.Connection, settings: Settings, keyring: KeyRing,
                       user_id: uuid.UUID, session_id: uuid.UUID, roles: list[str]
                       ) -> dict[str, Any]:
    """A new refresh token stored (as a hash) in the caller's transaction, and an access token."""
    now = datetime.now(UTC)
    refresh_token = domain.new_refresh_token()
    await storage.insert_refresh_token(
        conn, domain.hash_refresh_token(refresh_token), session_id,
        now + timedelta(seconds=settings.refresh_token_ttl_seconds),
    )
    return {
        "access_token": sign_access_token(settings, keyring, user_id, session_id, roles, now),
        "refresh_token": refresh_token,
        "token_type": "Bearer",
        "expires_in": settings.access_token_ttl_seconds,
    }


def sign_access_token(settings: Settings, keyring: KeyRing, user_id: uuid.UUID,
                      session_id: uuid.UUID, roles: list[str], now: datetime) -> str:
    if keyring.signing is None:
        raise RuntimeError("no signing key loaded")
    claims = domain.access_claims(settings.common.token_issuer, user_id, session_id, roles, now,
                                  settings.access_token_ttl_seconds)
    return jwt.encode(claims, keyring.signing.private_key, algorithm=ALGORITHM,
                      headers={"kid": keyring.signing.kid})
