"""`python -m services.notifier migrate` and `serve` as the processes a deployment runs."""

from __future__ import annotations

import asyncio
import os
import sys
from collections.abc import Callable
from pathlib import Path

import aio_pika
import aiohttp
import asyncpg

from tests.processes import ROOT, ServiceProcess


def process_env(env: dict[str, str], tmp_path: Path) -> dict[str, str]:
    return {**os.environ, **env, "DEV_OUTBOX_DIR": str(tmp_path / "outbox"), "LOG_LEVEL": "INFO"}


async def test_migrate_creates_the_tables_and_declares_the_queues(
        service_env: Callable[..., dict[str, str]], tmp_path: Path) -> None:
    env = service_env("notifier")
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "services.notifier", "migrate", cwd=ROOT, env=process_env(env, tmp_path),
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
    _, stderr = await asyncio.wait_for(process.communicate(), 60)
    assert process.returncode == 0, stderr.decode()

    conn = await asyncpg.connect(env["NOTIFIER_DATABASE_URL"])
    try:
        tables = {r["tablename"] for r in await conn.fetch("select tablename from pg_tables"
                                                            " where schemaname = 'public'")}
    finally:
        await conn.close()
    assert {"contacts", "deliveries", "delivery_attempts", "processed_events"} <= tables
    connection = await aio_pika.connect(env["AMQP_URL"])
    try:
        channel = await connection.channel()
        for name in ("notifier.otp", "notifier.users", "notifier.dead"):
            await channel.declare_queue(env["AMQP_QUEUE_PREFIX"] + name, passive=True)
    finally:
        await connection.close()


async def test_serve_answers_and_stops_cleanly_on_sigterm(
        service_env: Callable[..., dict[str, str]], tmp_path: Path) -> None:
    notifier = ServiceProcess("notifier", process_env(service_env("notifier"), tmp_path))
    try:
        await notifier.start()
        async with aiohttp.ClientSession() as session, session.get(f"{notifier.url}/healthz") as response:
            assert response.status == 200
        assert await notifier.stop() == 0, notifier.stderr.decode()[-2000:]
        assert b'"service": "notifier"' in notifier.stderr
    finally:
        await notifier.kill()
