"""python -m services.plans [serve|migrate]"""

import sys

from services.common import cli
from services.plans import events
from services.plans.app import SERVICE_DIR, create_app
from services.plans.config import Settings


def main(argv: list[str] | None = None) -> int:
    settings = Settings.from_env()
    return cli.main(settings.common, SERVICE_DIR, lambda: create_app(settings), events.subscriptions,
                    argv)


if __name__ == "__main__":
    sys.exit(main())
