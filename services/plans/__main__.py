"""python -m services.plans [serve | migrate]"""

from __future__ import annotations

import sys

from aiohttp import web

from services.common import cli
from services.plans import events
from services.plans.app import SERVICE_DIR, create_app
from services.plans.config import Settings


def main(argv: list[str] | None = None) -> int:
    parser, _ = cli.base_parser("plans")
    args = parser.parse_args(argv)
    settings = Settings.from_env()
    if args.command in (None, "serve"):
        cli.serve(settings.common, create_app(settings))
    elif args.command == "migrate":
        # Only the queue names and bindings matter here; the handlers are never called.
        cli.migrate(settings.common, SERVICE_DIR, events.subscriptions(web.Application()))
    return 0


if __name__ == "__main__":
    sys.exit(main())
