"""Demo data for the local system: a few users with known passwords (idempotent)."""

from __future__ import annotations

import asyncio
import sys
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DEMO_PASSWORD = "samhandling-demo"  # noqa: S105 (documented in the README)


@dataclass(frozen=True)
class DemoUser:
    username: str
    display_name: str
    email: str
    phone: str
    channel: str
    admin: bool
    description: str


DEMO_USERS = [
    DemoUser("admin", "Anne Admin", "admin@example.no", "+4790000001", "email", True,
             "administrator: creates users and plans (code by e-mail)"),
    DemoUser("kari", "Kari Nordmann", "kari@example.no", "+4790000002", "sms", False,
             "the person a plan is for (code by SMS)"),
    DemoUser("ola", "Ola Koordinator", "ola@example.no", "+4790000003", "email", False,
             "coordinator of Kari's plan (code by e-mail)"),
    DemoUser("per", "Per Hjelper", "per@example.no", "+4790000004", "sms", False,
             "a helper in Kari's plan (code by SMS)"),
]


async def create_user(user: DemoUser, env: dict[str, str]) -> None:
    args = [sys.executable, "-m", "services.auth", "create-user", "--username", user.username,
            "--display-name", user.display_name, "--email", user.email, "--phone", user.phone,
            "--notify-channel", user.channel]
    if user.admin:
        args.append("--admin")
    process = await asyncio.create_subprocess_exec(
        *args, env={**env, "LOG_LEVEL": "WARNING"}, cwd=ROOT, stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.PIPE)
    _, err = await process.communicate(DEMO_PASSWORD.encode() + b"\n")
    if process.returncode not in (0, 1):  # 1: the user exists from an earlier run
        raise SystemExit(f"could not create demo user {user.username}: {err.decode()}")


async def seed(env: dict[str, str], base_url: str) -> None:
    """Demo users (idempotent); later issues add a plan and messages through the API at base_url."""
    for user in DEMO_USERS:
        await create_user(user, env)
