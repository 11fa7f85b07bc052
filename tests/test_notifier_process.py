"""`python -m services.notifier migrate` and `serve` as the processes a deployment runs."""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import sys
from collections.abc import Callable
from pathlib import Path

import aio_pika
import aiohttp
import asyncpg

ROOT = Path(__file__).resolve().parent.parent


def process_env(env: dict[str, str], tmp_path: Path) -> dict[str, str]:
    return {**os.environ, **env, "DEV_OUTBOX_DIR": str(tmp_path / "outbox"), "LOG_LEVEL": "INFO"}


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


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
    port = free_port()
    env = service_env("notifier", NOTIFIER_PORT=str(port))
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "services.notifier", cwd=ROOT, env=process_env(env, tmp_path),
        stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.PIPE)
    try:
        async with aiohttp.ClientSession() as session:
            status = await wait_for_ready(session, f"http://127.0.0.1:{port}")
            assert status == 200
            async with session.get(f"http://127.0.0.1:{port}/healthz") as response:
                assert response.status == 200
        process.send_signal(signal.SIGTERM)
        _, stderr = await asyncio.wait_for(process.communicate(), 20)
        assert process.returncode == 0, stderr.decode()[-2000:]
        assert b'"service": "notifier"' in stderr
    finally:
        if process.returncode is None:
            process.kill()
            await process.wait()


async def wait_for_ready(session: aiohttp.ClientSession, base: str, timeout: float = 30.0) -> int:
    """Poll /readyz until it answers 200 (database and broker up), or give up and return the last status."""
    status = 0
    deadline = asyncio.get_running_loop().time() + timeout
    while asyncio.get_running_loop().time() < deadline:
        try:
            async with session.get(f"{base}/readyz") as response:
                status = response.status
                if status == 200:
                    return status
        except aiohttp.ClientConnectionError:
            pass
        await asyncio.sleep(0.1)
    return status
