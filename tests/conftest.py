"""Fixtures: each test gets databases, an exchange and queues of its own on the real servers."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import re
import subprocess
import time
import uuid
from collections.abc import AsyncIterator, Callable, Iterator

import aio_pika
import asyncpg
import pytest

from services.common.logging import JsonFormatter, quiet_client_libraries
from tests.servers import sms_gateway, smtp_server  # noqa: F401  (fixtures)
from tests.support import SECRETS_SEEN, auth, event_tap, make_auth  # noqa: F401  (fixtures)

PG_ADMIN_URL = os.environ.get("TEST_PG_ADMIN_URL", "postgresql://postgres@127.0.0.1:5432/postgres")
AMQP_URL = os.environ.get("TEST_AMQP_URL", "amqp://guest:guest@127.0.0.1:5672/")
TEST_NAME = re.compile(r"^t[0-9a-f]{12}[._]")
SERVICES = ("auth", "plans", "messages", "notifier")


def pg_url(database: str) -> str:
    return PG_ADMIN_URL.rsplit("/", 1)[0] + "/" + database


@pytest.fixture
def test_id() -> str:
    """`t` + creation time (8 hex digits) + 4 random hex digits, so leftovers can be aged."""
    return f"t{int(time.time()):08x}{uuid.uuid4().hex[:4]}"


def is_stale(name: str, max_age_seconds: int = 3600) -> bool:
    """A test object left behind by a run that died: older than any run lasts."""
    return bool(TEST_NAME.match(name)) and time.time() - int(name[1:9], 16) > max_age_seconds


@pytest.fixture
async def service_env(test_id: str) -> AsyncIterator[Callable[..., dict[str, str]]]:
    """Builds the environment a service would be started with, isolated to this test:
    its own database per service, its own exchange and queue prefix."""
    databases: set[str] = set()

    def make(service: str, **overrides: str) -> dict[str, str]:
        database = f"{test_id}_{service}"
        databases.add(database)
        env = {
            f"{service.upper()}_DATABASE_URL": pg_url(database),
            "AMQP_URL": AMQP_URL,
            "AMQP_EXCHANGE": f"{test_id}.samhandling",
            "AMQP_QUEUE_PREFIX": f"{test_id}.",
            "DB_POOL_MIN": "1",
            "DB_POOL_MAX": "5",
            "ARGON2_TIME_COST": "1",
            "ARGON2_MEMORY_KIB": "8192",
            "ARGON2_PARALLELISM": "1",
            "SHUTDOWN_GRACE_SECONDS": "2",
        }
        env.update(overrides)
        return env

    yield make
    await drop_databases(databases)
    await delete_broker_objects(test_id)


async def drop_databases(names: set[str]) -> None:
    if not names:
        return
    conn = await asyncpg.connect(PG_ADMIN_URL)
    try:
        for name in names:
            await conn.execute(f'drop database if exists "{name}" with (force)')
    finally:
        await conn.close()


def queue_names() -> set[str]:
    """Every queue a service declares (its subscriptions and its dead letters)."""
    import importlib

    names = {f"{service}.dead" for service in SERVICES}
    for service in SERVICES:
        # A service that does not exist yet, or consumes nothing, has no queues to delete.
        with contextlib.suppress(ImportError, AttributeError):
            names.update(importlib.import_module(f"services.{service}.events").QUEUES)
    return names


async def delete_broker_objects(prefix: str, queues: set[str] | None = None) -> None:
    """Delete the queues and the exchange one test declared (all named with its id)."""
    connection = await aio_pika.connect(AMQP_URL)
    try:
        channel = await connection.channel()
        for name in queue_names() if queues is None else queues:
            await channel.queue_delete(prefix + "." + name if queues is None else name)
        if queues is None:
            await channel.exchange_delete(f"{prefix}.samhandling")
    finally:
        await connection.close()


def _rabbitmq_names(command: str) -> list[str]:
    try:
        out = subprocess.run(["rabbitmqctl", "-q", command, "name"], capture_output=True,
                             text=True, timeout=30, check=False).stdout
    except (OSError, subprocess.TimeoutExpired):
        return []
    return [line.strip() for line in out.splitlines() if line.strip()]


@pytest.fixture(scope="session", autouse=True)
def _clean_leftovers_from_earlier_runs() -> None:
    """A killed run can leave test databases and queues behind; clear the stale ones.
    (Only stale ones: another test run may be going on against the same servers.)"""

    async def clean() -> None:
        conn = await asyncpg.connect(PG_ADMIN_URL)
        try:
            rows = await conn.fetch("select datname from pg_database where datname ~ '^t[0-9a-f]{12}_'")
            for row in rows:
                if is_stale(row["datname"]):
                    await conn.execute(f'drop database if exists "{row["datname"]}" with (force)')
        finally:
            await conn.close()

    async def clean_broker() -> None:
        leftovers = {n for n in await asyncio.to_thread(_rabbitmq_names, "list_queues")
                     if is_stale(n)}
        if leftovers:
            await delete_broker_objects("", leftovers)

    asyncio.run(clean())
    asyncio.run(clean_broker())


class _EveryLogLine(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.formatter_ = JsonFormatter("test")
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(self.formatter_.format(record))


@pytest.fixture(scope="session", autouse=True)
def _no_password_or_token_in_any_log_line() -> Iterator[None]:
    """Every record of the run at debug level, as the services' own logging formats it, is
    searched at the end for every password and token the tests used."""
    quiet_client_libraries()
    handler = _EveryLogLine()
    root = logging.getLogger()
    previous_level = root.level
    root.addHandler(handler)
    root.setLevel(logging.DEBUG)
    yield
    root.removeHandler(handler)
    root.setLevel(previous_level)
    everything = "\n".join(handler.lines)
    leaked = sorted(secret[:6] + "…" for secret in SECRETS_SEEN if secret in everything)
    assert not leaked, f"secrets found in log lines: {leaked}"
