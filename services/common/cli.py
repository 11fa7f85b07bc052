"""The `python -m services.<name> [serve|migrate]` entry shared by every service."""

from __future__ import annotations

import argparse
import asyncio
from collections.abc import Callable, Sequence
from pathlib import Path

from aiohttp import web

from services.common import db
from services.common.broker import Broker
from services.common.config import CommonSettings
from services.common.consumer import Subscription, declare_queues
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
            subscriptions: Sequence[Subscription] = ()) -> None:
    """Apply migrations and declare the service's queues, for deployments that run them as a job.
    Run before any service serves, so no event is published before its consumers' queues exist."""
    configure_logging(common.service, common.log_level)

    async def main() -> None:
        applied = await db.apply_migrations(common.database_url, service_dir)
        if subscriptions:
            await declare_service_queues(common, subscriptions)
        print(f"{common.service}: {len(applied)} migration(s) applied")

    asyncio.run(main())


async def declare_service_queues(common: CommonSettings, subscriptions: Sequence[Subscription],
                                 broker_timeout: float = 30.0) -> None:
    broker = Broker(common.amqp_url, common.amqp_exchange, common.amqp_queue_prefix)
    broker.start()
    try:
        await broker.wait_connected(broker_timeout)
        await declare_queues(broker, common.service, subscriptions)
    finally:
        await broker.close()


def main(
    common: CommonSettings,
    service_dir: Path,
    make_app: Callable[[], web.Application],
    subscriptions: Callable[[web.Application], Sequence[Subscription]] | None = None,
    argv: list[str] | None = None,
) -> int:
    """`python -m services.<name> [serve|migrate]` for a service with no commands of its own."""
    parser, _ = base_parser(common.service)
    args = parser.parse_args(argv)
    if args.command == "migrate":
        # Only the queue names and bindings matter here; the handlers are never called.
        migrate(common, service_dir, subscriptions(web.Application()) if subscriptions else ())
    else:
        serve(common, make_app())
    return 0
