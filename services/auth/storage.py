"""All of auth's SQL, one function per query."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

import asyncpg

Conn = asyncpg.Connection | asyncpg.Pool

USER_COLUMNS = ("id, username, display_name, email, phone, address, notify_channel, locale, roles")


# --- users ------------------------------------------------------------------------------------

async def fetch_login_candidate(conn: Conn, username: str, throttle_keys: list[str]
                                ) -> asyncpg.Record:
    """In one round trip: the user by name (columns null if none) and how long, if at all,
    the name or the client address is blocked."""
    return await conn.fetchrow(
        f"select {', '.join('u.' + c.strip() for c in USER_COLUMNS.split(','))}, u.password_hash,"
        " (select max(blocked_until) from login_throttle"
        "   where key = any($2::text[]) and blocked_until > now()) as blocked_until"
        " from (select 1) as one left join users u on lower(u.username) = lower($1)",
        username,
        throttle_keys,
    )


async def insert_user(conn: Conn, user_id: uuid.UUID, username: str, password_hash: str,
                      fields: dict[str, Any], roles: list[str]) -> asyncpg.Record | None:
    """The new user, or None when the username is taken (ignoring case)."""
    return await conn.fetchrow(
        "insert into users (id, username, password_hash, display_name, email, phone, address,"
        " notify_channel, locale, roles) values ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)"
        f" on conflict ((lower(username))) do nothing returning {USER_COLUMNS}",
        user_id, username, password_hash, fields["display_name"], fields["email"],
        fields.get("phone"), fields.get("address"), fields["notify_channel"], fields["locale"],
        roles,
    )


async def fetch_user(conn: Conn, user_id: uuid.UUID) -> asyncpg.Record | None:
    return await conn.fetchrow(f"select {USER_COLUMNS} from users where id = $1", user_id)


async def fetch_all_users(conn: Conn) -> list[asyncpg.Record]:
    return await conn.fetch(f"select {USER_COLUMNS} from users order by created_at")


async def fetch_user_in_session(conn: Conn, user_id: uuid.UUID, session_id: uuid.UUID
                                ) -> asyncpg.Record | None:
    """The user, only while the token's session is still open (logout ends it at once here)."""
    return await conn.fetchrow(
        f"select {', '.join('u.' + c.strip() for c in USER_COLUMNS.split(','))}, u.password_hash"
        " from users u join sessions s on s.user_id = u.id and s.id = $2 and s.ended_at is null"
        " where u.id = $1",
        user_id,
        session_id,
    )


async def update_user_fields(conn: Conn, user_id: uuid.UUID, changes: dict[str, Any]
                             ) -> asyncpg.Record:
    columns = list(changes)
    assignments = ", ".join(f"{name} = ${i}" for i, name in enumerate(columns, start=2))
    return await conn.fetchrow(
        f"update users set {assignments}, updated_at = now() where id = $1"
        f" returning {USER_COLUMNS}",
        user_id,
        *(changes[name] for name in columns),
    )


async def update_password_hash(conn: Conn, user_id: uuid.UUID, password_hash: str) -> None:
    await conn.execute(
        "update users set password_hash = $2, updated_at = now() where id = $1",
        user_id, password_hash,
    )


# --- throttling -------------------------------------------------------------------------------

async def record_login_failure(conn: Conn, key: str, max_failures: int, window_seconds: int,
                               lockout_seconds: int) -> None:
    """Count a failure; a new window starts when the old one has passed; block at the limit."""
    await conn.execute(
        """
        insert into login_throttle as t (key, failures, window_started_at, blocked_until)
        values ($1, 1, now(), case when $2 <= 1 then now() + make_interval(secs => $4) end)
        on conflict (key) do update set
            failures = case when t.window_started_at < now() - make_interval(secs => $3)
                            then 1 else t.failures + 1 end,
            window_started_at = case when t.window_started_at < now() - make_interval(secs => $3)
                                     then now() else t.window_started_at end,
            blocked_until = case
                when (case when t.window_started_at < now() - make_interval(secs => $3)
                           then 1 else t.failures + 1 end) >= $2
                then now() + make_interval(secs => $4)
                else t.blocked_until end
        """,
        key, max_failures, float(window_seconds), float(lockout_seconds),
    )


async def clear_login_failures(conn: Conn, key: str) -> None:
    await conn.execute("delete from login_throttle where key = $1", key)


# --- one-time-code challenges -----------------------------------------------------------------

async def insert_challenge(conn: Conn, challenge_id: uuid.UUID, user_id: uuid.UUID, channel: str,
                           code_hash: bytes, expires_at: datetime) -> None:
    await conn.execute(
        "insert into otp_challenges (id, user_id, channel, code_hash, expires_at)"
        " values ($1, $2, $3, $4, $5)",
        challenge_id, user_id, channel, code_hash, expires_at,
    )


async def lock_challenge(conn: Conn, challenge_id: uuid.UUID) -> asyncpg.Record | None:
    """The challenge with its user's contact details and roles, locked for this transaction."""
    return await conn.fetchrow(
        "select c.id, c.user_id, c.channel, c.code_hash, c.expires_at, c.failed_attempts,"
        " c.sends, c.last_sent_at, c.used_at, u.roles, u.email, u.phone, u.notify_channel"
        " from otp_challenges c join users u on u.id = c.user_id"
        " where c.id = $1 for update of c",
        challenge_id,
    )


async def count_wrong_code(conn: Conn, challenge_id: uuid.UUID) -> None:
    await conn.execute(
        "update otp_challenges set failed_attempts = failed_attempts + 1 where id = $1",
        challenge_id,
    )


async def mark_challenge_used(conn: Conn, challenge_id: uuid.UUID) -> None:
    await conn.execute("update otp_challenges set used_at = now() where id = $1", challenge_id)


async def replace_challenge_code(conn: Conn, challenge_id: uuid.UUID, code_hash: bytes,
                                 expires_at: datetime) -> None:
    await conn.execute(
        "update otp_challenges set code_hash = $2, expires_at = $3, sends = sends + 1,"
        " last_sent_at = now(), failed_attempts = 0 where id = $1",
        challenge_id, code_hash, expires_at,
    )


# --- sessions and refresh tokens --------------------------------------------------------------

async def insert_session(conn: Conn, session_id: uuid.UUID, user_id: uuid.UUID) -> None:
    await conn.execute("insert into sessions (id, user_id) values ($1, $2)", session_id, user_id)


async def insert_refresh_token(conn: Conn, token_hash: bytes, session_id: uuid.UUID,
                               expires_at: datetime) -> None:
    await conn.execute(
        "insert into refresh_tokens (token_hash, session_id, expires_at) values ($1, $2, $3)",
        token_hash, session_id, expires_at,
    )


async def lock_refresh_token(conn: Conn, token_hash: bytes) -> asyncpg.Record | None:
    return await conn.fetchrow(
        "select r.session_id, r.spent_at, r.expires_at, s.ended_at, s.user_id, u.roles"
        " from refresh_tokens r join sessions s on s.id = r.session_id"
        " join users u on u.id = s.user_id"
        " where r.token_hash = $1 for update of r",
        token_hash,
    )


async def spend_refresh_token(conn: Conn, token_hash: bytes) -> None:
    await conn.execute("update refresh_tokens set spent_at = now() where token_hash = $1",
                       token_hash)


async def end_session(conn: Conn, session_id: uuid.UUID, reason: str) -> None:
    await conn.execute(
        "update sessions set ended_at = now(), end_reason = $2 where id = $1 and ended_at is null",
        session_id, reason,
    )


async def end_other_sessions(conn: Conn, user_id: uuid.UUID, keep: uuid.UUID, reason: str) -> None:
    await conn.execute(
        "update sessions set ended_at = now(), end_reason = $3"
        " where user_id = $1 and id <> $2 and ended_at is null",
        user_id, keep, reason,
    )


# --- signing keys -----------------------------------------------------------------------------

async def has_active_signing_key(conn: Conn) -> bool:
    return bool(await conn.fetchval("select true from signing_keys where retired_at is null limit 1"))


async def insert_signing_key(conn: Conn, kid: str, private_der: bytes, public_jwk: dict[str, Any]
                             ) -> None:
    await conn.execute(
        "insert into signing_keys (kid, private_key, public_jwk) values ($1, $2, $3)",
        kid, private_der, public_jwk,
    )


async def retire_signing_keys(conn: Conn) -> None:
    await conn.execute("update signing_keys set retired_at = now() where retired_at is null")


async def fetch_published_keys(conn: Conn, published_after_retirement: int) -> list[asyncpg.Record]:
    """Keys in use and keys retired so recently that tokens they signed may still be valid;
    newest first."""
    return await conn.fetch(
        "select kid, private_key, public_jwk, retired_at from signing_keys"
        " where retired_at is null or retired_at > now() - make_interval(secs => $1)"
        " order by created_at desc",
        float(published_after_retirement),
    )


# --- housekeeping -----------------------------------------------------------------------------

async def delete_stale_rows(conn: Conn, window_seconds: int) -> None:
    """Forget what no rule needs any more: old throttle windows, challenges, spent tokens."""
    await conn.execute(
        "delete from login_throttle where window_started_at < now() - make_interval(secs => $1)"
        " and (blocked_until is null or blocked_until < now())",
        float(window_seconds),
    )
    await conn.execute("delete from otp_challenges where created_at < now() - interval '1 day'")
    await conn.execute("delete from refresh_tokens where expires_at < now()")
    await conn.execute("delete from idempotency_keys where created_at < now() - interval '24 hours'")
