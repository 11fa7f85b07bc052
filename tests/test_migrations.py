"""Migrations: the database is created if missing, and replicas starting at once apply each once."""

from __future__ import annotations

import asyncio
from pathlib import Path

import asyncpg

from services.common import db

AUTH_DIR = Path(__file__).resolve().parent.parent / "services" / "auth"


async def test_replicas_starting_together_apply_each_migration_once(service_env) -> None:
    url = service_env("auth")["AUTH_DATABASE_URL"]
    results = await asyncio.gather(*(db.apply_migrations(url, AUTH_DIR) for _ in range(4)))
    applied = [name for result in results for name in result]
    assert sorted(applied) == sorted(name for name, _ in db.migration_files(AUTH_DIR))
    conn = await asyncpg.connect(url)
    try:
        assert await conn.fetchval("select count(*) from schema_migrations") == len(applied)
    finally:
        await conn.close()
    assert await db.apply_migrations(url, AUTH_DIR) == []
