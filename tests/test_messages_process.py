"""`python -m services.messages migrate` and `serve`, as the processes a deployment runs."""

from __future__ import annotations

import asyncio
import os
import sys
from collections.abc import Callable

import aio_pika
import aiohttp
import asyncpg

from tests.processes import ROOT, ServiceProcess
from tests.support import AuthHarness, bearer


async def test_migrate_creates_the_tables_and_declares_the_queues(
        service_env: Callable[..., dict[str, str]]) -> None:
    env = service_env("messages")
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "services.messages", "migrate", cwd=ROOT,
        env={**os.environ, **env, "LOG_LEVEL": "WARNING"},
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
    out, err = await asyncio.wait_for(process.communicate(), 60)
    assert process.returncode == 0, err.decode()
    assert b"migration(s) applied" in out

    conn = await asyncpg.connect(env["MESSAGES_DATABASE_URL"])
    try:
        tables = {r["tablename"] for r in await conn.fetch(
            "select tablename from pg_tables where schemaname = 'public'")}
    finally:
        await conn.close()
    assert {"messages", "message_recipients", "users", "plan_members", "outbox",
            "processed_events", "idempotency_keys"} <= tables
    connection = await aio_pika.connect(env["AMQP_URL"])
    try:
        channel = await connection.channel()
        for name in ("messages.users", "messages.plans", "messages.dead"):
            await channel.declare_queue(env["AMQP_QUEUE_PREFIX"] + name, passive=True)
    finally:
        await connection.close()


async def test_serve_is_ready_answers_and_stops_cleanly(
        service_env: Callable[..., dict[str, str]], auth: AuthHarness) -> None:
    await auth.create_user("kari")
    token = await auth.token("kari")
    messages = ServiceProcess("messages", service_env("messages", AUTH_URL=auth.url, LOG_LEVEL="INFO"))
    await messages.start()
    try:
        async with aiohttp.ClientSession() as session:
            async with session.get(f"{messages.url}/v1/messages/unread-count",
                                   headers=bearer(token)) as response:
                assert (response.status, await response.json()) == (200, {"unread": 0})
            async with session.get(f"{messages.url}/openapi.json") as response:
                assert "/v1/messages/{message_id}/read" in (await response.json())["paths"]
        assert await messages.stop() == 0
        assert b'"service": "messages"' in messages.stderr
    finally:
        await messages.kill()
