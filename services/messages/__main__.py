"""python -m services.messages [serve|migrate]"""

from __future__ import annotations

import sys

from aiohttp import web

from services.common import cli
from services.messages import events
from services.messages.app import SERVICE_DIR, create_app
from services.messages.config import Settings


def main(argv: list[str] | None = None) -> int:
    parser, _ = cli.base_parser("messages")
    args = parser.parse_args(argv)
    settings = Settings.from_env()
    if args.command == "migrate":
        # Only the queue names and bindings matter here; the handlers are never called.
        cli.migrate(settings.common, SERVICE_DIR, events.subscriptions(web.Application()))
    else:
        cli.serve(settings.common, create_app(settings))
    return 0


if __name__ == "__main__":
    sys.exit(main())
