"""The system under test: the bench's own databases, exchange and queues, and the four services."""

from __future__ import annotations

import asyncio
import contextlib
import importlib
import os
import tempfile
from pathlib import Path
from typing import IO

import aio_pika
import asyncpg

from bench.sinks import Sinks
from devtools.processes import ROOT, ServiceProcess, run_module
from services.common.db import apply_migrations

SERVICES = ("auth", "plans", "messages", "notifier")
PG = os.environ.get("BENCH_PG_URL", "postgresql://postgres@127.0.0.1:5432")
AMQP_URL = os.environ.get("BENCH_AMQP_URL", "amqp://guest:guest@127.0.0.1:5672/")
EXCHANGE = "bench.samhandling"
QUEUE_PREFIX = "bench."
FLOOR_DATABASE = "bench_floor"
LOG_DIR = Path(tempfile.gettempdir()) / "samhandling-bench"


def database_url(name: str) -> str:
    return f"{PG}/{name}"


def service_database(service: str) -> str:
    return f"bench_{service}"


def queue_names() -> list[str]:
    """Every queue the services declare, with the bench's prefix."""
    names = [f"{service}.dead" for service in SERVICES]
    for service in SERVICES:
        with contextlib.suppress(ImportError, AttributeError):
            names += importlib.import_module(f"services.{service}.events").QUEUES
    return [QUEUE_PREFIX + name for name in names]


class System:
    """Starts, restarts and stops the services as separate processes, each with its own log file."""

    def __init__(self, sinks: Sinks, extra: dict[str, dict[str, str]] | None = None) -> None:
        self.sinks = sinks
        self.extra = extra or {}  # settings given on the command line (bin/bench --set)
        self.services: dict[str, ServiceProcess] = {}
        self._logs: list[IO[bytes]] = []
        self.started: set[str] = set()
        self.settings_changed: dict[str, dict[str, str]] = {}

    def env(self, service: str, **overrides: str) -> dict[str, str]:
        env = {
            f"{service.upper()}_DATABASE_URL": database_url(service_database(service)),
            "AMQP_URL": AMQP_URL,
            "AMQP_EXCHANGE": EXCHANGE,
            "AMQP_QUEUE_PREFIX": QUEUE_PREFIX,
            "PYTHONUNBUFFERED": "1",
            **self.sinks.env(),
        }
        if "auth" in self.services:
            env["AUTH_URL"] = self.services["auth"].url
        return {**env, **self.extra.get(service, {}), **overrides}

    def url(self, service: str) -> str:
        return self.services[service].url

    def pids(self) -> dict[str, int]:
        return {name: p.process.pid for name, p in self.services.items() if p.process is not None}

    async def prepare(self) -> None:
        """Fresh databases and queues, the migrations applied, the queues declared."""
        await drop_everything()
        LOG_DIR.mkdir(parents=True, exist_ok=True)
        for service in SERVICES:
            await run_module([f"services.{service}", "migrate"],
                             {**self.env(service), "LOG_LEVEL": "WARNING"})
        await apply_migrations(database_url(FLOOR_DATABASE), ROOT / "services" / "messages")

    async def start_all(self) -> None:
        # auth first: the others fetch its public keys from AUTH_URL.
        await self.start("auth")
        await asyncio.gather(*(self.start(name) for name in SERVICES[1:]))

    async def start(self, service: str, port: int | None = None, **overrides: str) -> ServiceProcess:
        # A fresh log per run; a restart within the run adds to it.
        log = (LOG_DIR / f"{service}.log").open("ab" if service in self.started else "wb")
        self.started.add(service)
        self._logs.append(log)
        process = ServiceProcess(service, self.env(service, **overrides), port=port, log=log)
        self.services[service] = process
        try:
            await process.start(timeout=90)
        except RuntimeError:
            await process.kill()
            raise RuntimeError(f"{service} did not start; see {LOG_DIR / f'{service}.log'}") from None
        if overrides:
            self.settings_changed[service] = {**self.settings_changed.get(service, {}), **overrides}
        return process

    async def stop(self, service: str) -> None:
        process = self.services.pop(service)
        try:
            await process.stop(timeout=30)
        except TimeoutError:
            await process.kill()  # never left running behind the run (its databases are dropped)
            raise

    async def restart(self, service: str, **overrides: str) -> ServiceProcess:
        """The same service on the same port with other settings (auth keeps its keys in its
        database, and the others keep fetching them from the same address)."""
        port = self.services[service].port
        await self.stop(service)
        return await self.start(service, port=port, **overrides)

    async def close(self) -> None:
        for name in list(self.services):
            with contextlib.suppress(Exception):
                await self.stop(name)
        for log in self._logs:
            log.close()
        await drop_everything()


async def drop_everything() -> None:
    """The bench's databases, queues and exchange, gone (also what a killed run left behind)."""
    conn = await asyncpg.connect(database_url("postgres"))
    try:
        for name in [*map(service_database, SERVICES), FLOOR_DATABASE]:
            await conn.execute(f'drop database if exists "{name}" with (force)')
    finally:
        await conn.close()
    connection = await aio_pika.connect(AMQP_URL)
    try:
        channel = await connection.channel()
        for queue in queue_names():
            await channel.queue_delete(queue)
        await channel.exchange_delete(EXCHANGE)
    finally:
        await connection.close()


async def queue_depth(connection: aio_pika.abc.AbstractConnection, name: str) -> int:
    """Messages ready in a queue; 0 if there is no such queue (a passive declare creates none,
    and closes its channel when the queue is missing: so a channel of its own)."""
    channel = await connection.channel()
    try:
        queue = await channel.declare_queue(QUEUE_PREFIX + name, passive=True)
    except aio_pika.exceptions.ChannelNotFoundEntity:
        return 0
    depth = queue.declaration_result.message_count or 0
    await channel.close()
    return depth


def messages_dir() -> Path:
    return ROOT / "services" / "messages"
