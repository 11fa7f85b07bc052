"""Demo data for the local system, made the way people would make it: the first administrator
with the create-user command, everything else through the API after real logins whose one-time
codes are read from the dev outbox. Running it again changes nothing."""

from __future__ import annotations

import asyncio
import re
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import aiohttp

from devtools import demo_plan

ROOT = Path(__file__).resolve().parent.parent
DEMO_PASSWORD = "samhandling-demo"  # noqa: S105 (documented in the README)
CODE = re.compile(r"\b([0-9]{6})\b")


@dataclass(frozen=True)
class DemoUser:
    username: str
    display_name: str
    email: str
    phone: str
    channel: str
    description: str

    @property
    def destination(self) -> str:
        return self.phone if self.channel == "sms" else self.email


DEMO_USERS = [
    DemoUser("admin", "Anne Admin", "admin@example.no", "+4790000001", "email",
             "administrator: creates users and plans (code by e-mail)"),
    DemoUser("kari", "Kari Nordmann", "kari@example.no", "+4790000002", "sms",
             "the person the plan is for (code by SMS)"),
    DemoUser("ola", "Ola Koordinator", "ola@example.no", "+4790000003", "email",
             "coordinator of Kari's plan (code by e-mail)"),
    DemoUser("per", "Per Hjelper", "per@example.no", "+4790000004", "sms",
             "a helper in Kari's plan (code by SMS)"),
]


async def create_admin(user: DemoUser, env: dict[str, str]) -> None:
    args = [sys.executable, "-m", "services.auth", "create-user", "--username", user.username,
            "--display-name", user.display_name, "--email", user.email, "--phone", user.phone,
            "--notify-channel", user.channel, "--admin"]
    process = await asyncio.create_subprocess_exec(
        *args, env={**env, "LOG_LEVEL": "WARNING"}, cwd=ROOT, stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.PIPE)
    _, err = await process.communicate(DEMO_PASSWORD.encode() + b"\n")
    if process.returncode not in (0, 1):  # 1: it exists from an earlier run
        raise SystemExit(f"could not create the demo administrator: {err.decode()}")


class Session:
    """Logs demo users in through the gateway, reading their codes from the dev outbox."""

    def __init__(self, http: aiohttp.ClientSession, outbox: Path) -> None:
        self.http = http
        self.outbox = outbox
        self.tokens: dict[str, str] = {}
        self.ids: dict[str, str] = {}

    async def login(self, user: DemoUser) -> None:
        started = time.time()
        async with self.http.post("/v1/auth/login", json={
                "username": user.username, "password": DEMO_PASSWORD}) as response:
            if response.status != 200:
                raise SystemExit(f"demo login of {user.username}: {response.status}")
            challenge = await response.json()
        code = await self.code_sent_to(user.destination, started)
        async with self.http.post("/v1/auth/verify", json={
                "challenge_id": challenge["challenge_id"], "code": code}) as response:
            self.tokens[user.username] = (await response.json())["access_token"]
        async with self.http.get("/v1/users/me", headers=self.bearer(user.username)) as response:
            self.ids[user.username] = (await response.json())["id"]

    async def code_sent_to(self, destination: str, after: float, timeout: float = 30) -> str:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for path in sorted(self.outbox.glob(f"*{destination}*"), reverse=True):
                if path.stat().st_mtime >= after - 1 and (match := CODE.search(path.read_text())):
                    return match.group(1)
            await asyncio.sleep(0.2)
        raise SystemExit(f"no one-time code reached {self.outbox} for {destination}")

    def bearer(self, username: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.tokens[username]}"}

    async def send(self, sender: str, plan_id: str, recipients: list[str], subject: str, body: str,
                   in_reply_to: str | None = None, wait_seconds: float = 30) -> str:
        """The new message's id; retried while messages has not yet heard of the plan (404)."""
        message = {"plan_id": plan_id, "recipient_ids": [self.ids[r] for r in recipients],
                   "subject": subject, "body": body, "in_reply_to": in_reply_to}
        deadline = time.monotonic() + wait_seconds
        while True:
            async with self.http.post("/v1/messages", json=message,
                                      headers=self.bearer(sender)) as response:
                if response.status == 201:
                    return (await response.json())["id"]
                if response.status not in (404, 422) or time.monotonic() > deadline:
                    raise SystemExit(f"demo message from {sender}: {response.status}")
            await asyncio.sleep(0.3)

    async def create_user(self, user: DemoUser) -> None:
        async with self.http.post("/v1/users", headers=self.bearer("admin"), json={
                "username": user.username, "password": DEMO_PASSWORD,
                "display_name": user.display_name, "email": user.email, "phone": user.phone,
                "notify_channel": user.channel}) as response:
            if response.status not in (201, 409):  # 409: it exists from an earlier run
                raise SystemExit(f"demo user {user.username}: {response.status}")


async def seed(env: dict[str, str], base_url: str) -> None:
    outbox = Path(env["DEV_OUTBOX_DIR"])
    admin, *others = DEMO_USERS
    await create_admin(admin, env)
    async with aiohttp.ClientSession(base_url) as http:
        session = Session(http, outbox)
        await session.login(admin)
        for user in others:
            await session.create_user(user)
        await asyncio.gather(*(session.login(user) for user in others))
        plan_id = await demo_plan.seed_demo_plan(
            base_url, session.tokens["admin"],
            {u.username: session.tokens[u.username] for u in others}, session.ids)
        if plan_id is not None:  # made just now, so its messages are not there yet either
            await seed_demo_messages(session, plan_id)


async def seed_demo_messages(session: Session, plan_id: str) -> None:
    """A welcome from Ola and Kari's reply, all read, so a new message alerts at once."""
    welcome = await session.send("ola", plan_id, ["kari", "per"], "Velkommen til planen",
                                 "Hei! Her kan vi skrive til hverandre om planen. Hilsen Ola")
    reply = await session.send("kari", plan_id, ["ola"], "Sv: Velkommen til planen",
                               "Takk, så fint!", in_reply_to=welcome)
    for reader, message in (("kari", welcome), ("per", welcome), ("ola", reply)):
        async with session.http.post(f"/v1/messages/{message}/read",
                                     headers=session.bearer(reader)) as response:
            if response.status != 204:
                raise SystemExit(f"demo read by {reader}: {response.status}")
