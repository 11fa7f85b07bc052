"""`python -m services.plans migrate` and `serve` as the processes a deployment runs."""

from __future__ import annotations

import asyncio
import os
import sys
from collections.abc import Callable

import aio_pika
import aiohttp
import asyncpg

from tests.processes import ROOT, ServiceProcess
from tests.support import AuthHarness


async def test_migrate_creates_the_tables_and_declares_the_queues(
        service_env: Callable[..., dict[str, str]]) -> None:
    env = service_env("plans")
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "services.plans", "migrate", cwd=ROOT, env={**os.environ, **env},
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
    _, stderr = await asyncio.wait_for(process.communicate(), 60)
    assert process.returncode == 0, stderr.decode()

    conn = await asyncpg.connect(env["PLANS_DATABASE_URL"])
    try:
        tables = {r["tablename"] for r in await conn.fetch(
            "select tablename from pg_tables where schemaname = 'public'")}
    finally:
        await conn.close()
    assert {"users", "plans", "participants", "goals", "activities", "comments", "calendar_events",
            "assessments", "access_log", "outbox", "processed_events"} <= tables
    connection = await aio_pika.connect(env["AMQP_URL"])
    try:
        channel = await connection.channel()
        for name in ("plans.users", "plans.dead"):
            await channel.declare_queue(env["AMQP_QUEUE_PREFIX"] + name, passive=True)
    finally:
        await connection.close()


async def test_serve_checks_tokens_with_auth_and_stops_cleanly_on_sigterm(
        auth: AuthHarness, service_env: Callable[..., dict[str, str]]) -> None:
    await auth.create_user("kari")
    token = await auth.token("kari")
    plans = ServiceProcess("plans", {**service_env("plans", AUTH_URL=auth.url), "LOG_LEVEL": "INFO"})
    try:
        await plans.start()
        async with aiohttp.ClientSession() as session:
            async with session.get(f"{plans.url}/v1/plans",
                                   headers={"Authorization": f"Bearer {token}"}) as response:
                assert response.status == 200
                assert await response.json() == {"items": [], "next_cursor": None}
            async with session.get(f"{plans.url}/v1/plans",
                                   headers={"Authorization": f"Bearer {token}x"}) as response:
                assert response.status == 401
        assert await plans.stop() == 0, plans.stderr.decode()[-2000:]
        assert b'"service": "plans"' in plans.stderr
        assert token.encode() not in plans.stderr
    finally:
        await plans.kill()
