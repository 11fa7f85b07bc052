"""python -m services.auth [serve | migrate | create-user | rotate-keys]"""

from __future__ import annotations

import asyncio
import sys

from pydantic import ValidationError

from services.auth import accounts
from services.auth.app import SERVICE_DIR, create_app
from services.auth.config import Settings
from services.auth.keys import rotate_signing_key
from services.auth.passwords import Passwords
from services.auth.schemas import NewUser
from services.common import cli, db
from services.common.logging import configure_logging


def main(argv: list[str] | None = None) -> int:
    parser, commands = cli.base_parser("auth")
    create = commands.add_parser("create-user", help="create a user; the password is read from stdin")
    create.add_argument("--username", required=True)
    create.add_argument("--display-name", required=True)
    create.add_argument("--email", required=True)
    create.add_argument("--phone")
    create.add_argument("--notify-channel", choices=["sms", "email"], default="email")
    create.add_argument("--locale", choices=["nb", "nn", "en"], default="nb")
    create.add_argument("--admin", action="store_true")
    commands.add_parser("rotate-keys", help="retire the signing key and start signing with a new one")
    commands.add_parser("republish-users", help="emit user.updated for every user (a backfill for a "
                        "service whose user projection is new or was rebuilt)")
    args = parser.parse_args(argv)
    settings = Settings.from_env()
    if args.command in (None, "serve"):
        cli.serve(settings.common, create_app(settings))
    elif args.command == "migrate":
        cli.migrate(settings.common, SERVICE_DIR)
    elif args.command == "create-user":
        return create_user_command(settings, args)
    elif args.command == "rotate-keys":
        configure_logging("auth", settings.common.log_level)
        print(asyncio.run(rotate_keys(settings)))
    elif args.command == "republish-users":
        configure_logging("auth", settings.common.log_level)
        print(f"{asyncio.run(republish_users(settings))} user(s) republished")
    return 0


def create_user_command(settings: Settings, args: object) -> int:
    configure_logging("auth", settings.common.log_level)
    password = sys.stdin.readline().rstrip("\r\n")
    try:
        new_user = NewUser(
            username=args.username, password=password, display_name=args.display_name,
            email=args.email, phone=args.phone, notify_channel=args.notify_channel,
            locale=args.locale, roles=["admin"] if args.admin else [],
        )
    except ValidationError as exc:
        for error in exc.errors(include_url=False, include_input=False):
            print(f"{'.'.join(map(str, error['loc']))}: {error['msg']}", file=sys.stderr)
        return 2
    if new_user.notify_channel == "sms" and not new_user.phone:
        print("notify-channel sms needs --phone", file=sys.stderr)
        return 2
    user_id = asyncio.run(insert_user(settings, new_user))
    if user_id is None:
        print(f"username {new_user.username!r} is taken", file=sys.stderr)
        return 1
    print(user_id)
    return 0


async def insert_user(settings: Settings, new_user: NewUser) -> str | None:
    await db.apply_migrations(settings.common.database_url, SERVICE_DIR)
    passwords = Passwords(settings.argon2_time_cost, settings.argon2_memory_kib,
                          settings.argon2_parallelism)
    password_hash = await passwords.hash(new_user.password)
    pool = await db.create_pool(settings.common.database_url, 1, 1)
    try:
        async with pool.acquire() as conn, conn.transaction():
            user = await accounts.create_user(conn, new_user, password_hash)
    finally:
        await pool.close()
    return None if user is None else str(user["id"])


async def republish_users(settings: Settings) -> int:
    """Through the outbox like any change; the running auth relays them."""
    await db.apply_migrations(settings.common.database_url, SERVICE_DIR)
    pool = await db.create_pool(settings.common.database_url, 1, 1)
    try:
        async with pool.acquire() as conn, conn.transaction():
            return await accounts.republish_users(conn)
    finally:
        await pool.close()


async def rotate_keys(settings: Settings) -> str:
    await db.apply_migrations(settings.common.database_url, SERVICE_DIR)
    pool = await db.create_pool(settings.common.database_url, 1, 1)
    try:
        return await rotate_signing_key(pool)
    finally:
        await pool.close()


if __name__ == "__main__":
    sys.exit(main())
