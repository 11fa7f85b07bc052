"""create_app for auth: shared plumbing, the database, signing keys, the outbox relay, routes."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator
from pathlib import Path

import asyncpg
from aiohttp import web

from services.auth import routes, storage
from services.auth.appkeys import KEYRING, PASSWORDS, SETTINGS
from services.auth.config import Settings
from services.auth.keys import KeyRing, ensure_signing_key
from services.auth.openapi import OPENAPI
from services.auth.passwords import Passwords
from services.common.tokens import TokenVerifier
from services.common.web import DB, VERIFIER, base_app, broker_context, database_context

log = logging.getLogger(__name__)
SERVICE_DIR = Path(__file__).parent
HOUSEKEEPING_INTERVAL = 600


def create_app(settings: Settings) -> web.Application:
    app = base_app(settings.common, OPENAPI)
    app[SETTINGS] = settings
    app[PASSWORDS] = Passwords(settings.argon2_time_cost, settings.argon2_memory_kib,
                               settings.argon2_parallelism)
    app.cleanup_ctx.append(database_context(SERVICE_DIR))
    app.cleanup_ctx.append(signing_keys)
    app.cleanup_ctx.append(broker_context())
    app.cleanup_ctx.append(housekeeping)
    app.on_cleanup.append(stop_hashing)
    routes.add_routes(app)
    return app


async def stop_hashing(app: web.Application) -> None:
    app[PASSWORDS].close()


async def signing_keys(app: web.Application) -> AsyncIterator[None]:
    settings = app[SETTINGS]
    await ensure_signing_key(app[DB])
    keyring = KeyRing(app[DB], settings.access_token_ttl_seconds, settings.key_refresh_seconds)
    await keyring.load()
    keyring.start()
    app[KEYRING] = keyring
    # Auth checks its own tokens against its own keys, without a round trip to itself.
    app[VERIFIER] = TokenVerifier(settings.common.token_issuer, keyring.find)
    yield
    await keyring.stop()


async def housekeeping(app: web.Application) -> AsyncIterator[None]:
    async def loop() -> None:
        while True:
            await asyncio.sleep(HOUSEKEEPING_INTERVAL)
            try:
                await storage.delete_stale_rows(app[DB], app[SETTINGS].login_window_seconds)
            except (OSError, asyncpg.PostgresError, asyncpg.InterfaceError) as exc:
                log.warning("housekeeping skipped", extra={"error": type(exc).__name__})

    task = asyncio.create_task(loop())
    yield
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task
