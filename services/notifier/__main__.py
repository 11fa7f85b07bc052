"""python -m services.notifier [serve|migrate]."""

from __future__ import annotations

import argparse
import asyncio
import sys

from services.common.logging import configure_logging
from services.common.web import run
from services.notifier.app import create_app, migrate
from services.notifier.config import Settings


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m services.notifier",
                                     description="Samhandling notifier: one-time codes and alerts.")
    parser.add_argument("command", nargs="?", choices=("serve", "migrate"), default="serve",
                        help="serve (default), or apply migrations and declare queues, then exit")
    args = parser.parse_args(argv)
    settings = Settings.from_env()
    configure_logging("notifier", settings.common.log_level)
    if args.command == "migrate":
        asyncio.run(migrate(settings))
    else:
        run(create_app(settings), settings.common)
    return 0


if __name__ == "__main__":
    sys.exit(main())
