"""The floors the service is measured against: the database work of a send alone, argon2 alone."""

from __future__ import annotations

import asyncio
import dataclasses
import json
import uuid
from datetime import UTC, datetime
from typing import Any, Self

import asyncpg
from argon2 import PasswordHasher

from services.auth.config import Settings as AuthSettings
from services.messages.storage import PageQuery, fetch_inbox_page

INBOX_PAGE = 50  # the default page size

# The rows of one send (the message, its 2 recipients, its message.created event in the outbox),
# in one statement: its own transaction and one round trip, the least the database can be asked
# for. Nothing relays this outbox.
SEND_FLOOR_SQL = """
with message as (
    insert into messages (id, plan_id, thread_id, sender_id, subject, body, created_at)
    values ($1, $2, $1, $3, $4, $5, $6)
),
recipients as (
    insert into message_recipients (message_id, recipient_id, position, plan_id, created_at)
    select $1, r.id, r.position::smallint, $2, $6
    from unnest($7::uuid[]) with ordinality as r (id, position)
),
event as (
    insert into outbox (event_id, type, payload) values ($8, 'message.created', $9::jsonb)
)
select 1
"""



def _auth_default(name: str) -> Any:
    return next(f.default for f in dataclasses.fields(AuthSettings) if f.name == name)


# The service's production defaults (services/auth/config.py), whatever they are now.
ARGON2_TIME_COST = _auth_default("argon2_time_cost")
ARGON2_MEMORY_KIB = _auth_default("argon2_memory_kib")
ARGON2_PARALLELISM = _auth_default("argon2_parallelism")


def _event_payload(event_id: uuid.UUID, message_id: uuid.UUID, plan_id: uuid.UUID,
                   sender_id: uuid.UUID, recipients: list[uuid.UUID], created_at: datetime) -> str:
    when = created_at.isoformat().replace("+00:00", "Z")
    return json.dumps({"id": str(event_id), "type": "message.created", "occurred_at": when,
                       "data": {"message_id": str(message_id), "plan_id": str(plan_id),
                                "sender_id": str(sender_id), "recipient_ids": [str(r) for r in recipients],
                                "created_at": when}})


async def keep_session(conn: asyncpg.Connection) -> None:
    """No reset query when a connection goes back to the pool: raw asyncpg, one round trip a query."""


async def raw_pool(database_url: str, size: int) -> asyncpg.Pool:
    return await asyncpg.create_pool(database_url, min_size=size, max_size=size, reset=keep_session)


class PooledFloor:
    """A floor on raw asyncpg with the service's pool size; `async with` opens and closes its pool."""

    def __init__(self, database_url: str, pool_size: int) -> None:
        self.database_url = database_url
        self.pool_size = pool_size
        self.pool: asyncpg.Pool | None = None

    async def __aenter__(self) -> Self:
        self.pool = await raw_pool(self.database_url, self.pool_size)
        return self

    async def __aexit__(self, *exc: object) -> None:
        if self.pool is not None:
            await self.pool.close()


class SendFloor(PooledFloor):
    """A raw asyncpg send into a database with the messages schema."""

    def __init__(self, database_url: str, pool_size: int, subject: str, body: str) -> None:
        super().__init__(database_url, pool_size)
        self.subject = subject
        self.body = body
        self.plan_id = uuid.uuid4()
        self.users = [uuid.uuid4() for _ in range(64)]

    async def send(self, worker: int) -> None:
        assert self.pool is not None
        message_id, event_id = uuid.uuid4(), uuid.uuid4()
        sender = self.users[worker % len(self.users)]
        recipients = [self.users[(worker + 1) % len(self.users)], self.users[(worker + 2) % len(self.users)]]
        now = datetime.now(UTC)
        payload = _event_payload(event_id, message_id, self.plan_id, sender, recipients, now)
        await self.pool.execute(SEND_FLOOR_SQL, message_id, self.plan_id, sender, self.subject,
                                self.body, now, recipients, event_id, payload)


class InboxFloor(PooledFloor):
    """The service's own inbox query (services/messages/storage.py), straight through asyncpg."""

    def __init__(self, database_url: str, pool_size: int, user_ids: list[str]) -> None:
        super().__init__(database_url, pool_size)
        self.user_ids = [uuid.UUID(u) for u in user_ids]
        self.turn = 0

    async def page(self, worker: int) -> None:
        assert self.pool is not None
        self.turn += 1
        user_id = self.user_ids[self.turn % len(self.user_ids)]
        await fetch_inbox_page(self.pool, PageQuery(user_id, None, False, None, INBOX_PAGE + 1))


class Argon2Floor:
    """Verifying a password with the service's argon2 defaults on asyncio's default thread pool,
    as services/auth/passwords.py does."""

    def __init__(self) -> None:
        self.hasher = PasswordHasher(time_cost=ARGON2_TIME_COST, memory_cost=ARGON2_MEMORY_KIB,
                                     parallelism=ARGON2_PARALLELISM)
        self.password = "bench-password-1"  # noqa: S105
        self.hash = self.hasher.hash(self.password)

    async def verify(self, worker: int) -> None:
        if not await asyncio.to_thread(self.hasher.verify, self.hash, self.password):
            raise RuntimeError("argon2 verify failed")


def floor_settings() -> dict[str, Any]:
    return {"argon2": {"time_cost": ARGON2_TIME_COST, "memory_kib": ARGON2_MEMORY_KIB,
                       "parallelism": ARGON2_PARALLELISM}}
