"""What every scenario shares: the running system, its users and plans, the run's settings, waiting
for the system to go quiet, and read-only looks at the bench's own databases and queues."""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass, field
from typing import Any

import aio_pika
import asyncpg

from bench.api import Api, User
from bench.sinks import Sinks
from bench.system import AMQP_URL, System, database_url, queue_depth, queue_names, service_database

LEVELS = (1, 16, 64)
TOKEN_MAX_AGE = 300.0  # access tokens last 15 minutes; renewed well before


@dataclass(frozen=True)
class RunSettings:
    quick: bool = False
    profile: bool = False

    def window(self, seconds: float) -> float:
        """A measured window, shorter in quick mode."""
        return round(seconds / 2.5, 1) if self.quick else seconds

    @property
    def members(self) -> int:
        """Users who send, read and log in (64: one per worker at the highest concurrency)."""
        return 16 if self.quick else 64

    @property
    def recipients(self) -> int:
        """Users made for the alert scenarios (each alerted at most once at a time)."""
        return 1_000 if self.quick else 10_000

    @property
    def inbox_sizes(self) -> tuple[int, int]:
        return (10_000, 100_000) if self.quick else (10_000, 1_000_000)

    @property
    def alert_seconds(self) -> float:
        return 15.0 if self.quick else 60.0

    @property
    def queued_alerts(self) -> int:
        return 1_000 if self.quick else 10_000


@dataclass
class Context:
    system: System
    api: Api
    sinks: Sinks
    settings: RunSettings
    admin: User = field(default_factory=lambda: User("bench-admin", "email", 0, roles=["admin"]))
    members: list[User] = field(default_factory=list)
    team_plan: str = ""
    recipients: list[User] = field(default_factory=list)
    recipient_plans: dict[str, str] = field(default_factory=dict)  # recipient id -> plan id
    coordinators: dict[str, int] = field(default_factory=dict)  # plan id -> index in members
    results: dict[str, dict[str, Any]] = field(default_factory=dict)
    tokens_at: float = 0.0

    def watch(self) -> dict[str, int]:
        pids = self.system.pids()
        if self.sinks.process is not None:
            pids["sinks"] = self.sinks.process.pid
        return pids

    def member_logins(self) -> list[dict[str, str]]:
        from bench.api import PASSWORD
        return [{"username": m.username, "password": PASSWORD} for m in self.members]

    def member_tokens(self) -> list[dict[str, str]]:
        return [{"id": m.id, "token": m.access_token} for m in self.members]

    async def fresh_tokens(self) -> None:
        """New access tokens for the administrator and members when theirs are getting old."""
        if time.monotonic() - self.tokens_at < TOKEN_MAX_AGE:
            return
        await asyncio.gather(*(self.api.refresh(user) for user in [self.admin, *self.members]))
        self.tokens_at = time.monotonic()

    async def settle(self, timeout: float = 60.0) -> float:
        """Wait (bounded) until no outbox holds an event and no queue a message; seconds waited."""
        started = time.monotonic()
        while time.monotonic() - started < timeout:
            if await backlog() == 0:
                break
            await asyncio.sleep(0.25)
        return round(time.monotonic() - started, 1)


async def scalar(service: str, sql: str, *args: Any) -> Any:
    """One value from a service's bench database (read-only looks: counts, backlogs)."""
    conn = await asyncpg.connect(database_url(service_database(service)))
    try:
        return await conn.fetchval(sql, *args)
    finally:
        await conn.close()


async def execute(service: str, sql: str, *args: Any) -> None:
    """A statement on a service's bench database (resetting data between scenarios)."""
    conn = await asyncpg.connect(database_url(service_database(service)))
    try:
        await conn.execute(sql, *args)
    finally:
        await conn.close()


async def depths(names: list[str] | None = None) -> dict[str, int]:
    """Messages ready in the bench's queues (all of them, or those named without the prefix)."""
    connection = await aio_pika.connect(AMQP_URL)
    try:
        wanted = names if names is not None else [q.removeprefix("bench.") for q in queue_names()]
        return {name: await queue_depth(connection, name) for name in wanted}
    finally:
        await connection.close()


async def backlog() -> int:
    """Events not yet relayed (outboxes) plus messages not yet taken from the queues."""
    waiting = sum((await depths()).values())
    for service in ("auth", "plans", "messages"):
        waiting += await scalar(service, "select count(*) from outbox")
    return waiting


async def pending_alerts() -> int:
    """Alerts the notifier has planned and not finished (due now or being sent)."""
    return await scalar("notifier", "select count(*) from alert_schedules"
                        " where alert_id is not null and due_at <= now()")

