"""The `python -m services.<name> [serve|migrate]` entry shared by every service."""

from __future__ import annotations

import argparse
import asyncio
from collections.abc import Awaitable, Callable
from pathlib import Path

from aiohttp import web

from services.common import db
from services.common.config import CommonSettings
from services.common.logging import configure_logging
from services.common.web import run


def base_parser(service: str) -> tuple[argparse.ArgumentParser, argparse._SubParsersAction]:
    parser = argparse.ArgumentParser(prog=f"python -m services.{service}")
    commands = parser.add_subparsers(dest="command")
    commands.add_parser("serve", help="serve HTTP and consume events (the default)")
    commands.add_parser("migrate", help="create the database if missing, apply migrations, exit")
    return parser, commands


def serve(common: CommonSettings, app: web.Application) -> None:
    configure_logging(common.service, common.log_level)
    run(app, common)


def migrate(common: CommonSettings, service_dir: Path,
            declare: Callable[[], Awaitable[None]] | None = None) -> None:
    """Apply migrations (and declare the service's queues) for deployments that run them as a job."""
    configure_logging(common.service, common.log_level)

    async def main() -> None:
        applied = await db.apply_migrations(common.database_url, service_dir)
        if declare is not None:
            await declare()
        print(f"{common.service}: {len(applied)} migration(s) applied")

    asyncio.run(main())
