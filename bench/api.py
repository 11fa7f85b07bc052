"""The services' API as the bench's set-up uses it: the first administrator, users, logins, plans."""

from __future__ import annotations

import asyncio
import sys
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass, field
from typing import Any, TypeVar

import aiohttp

from bench.otp import OtpListener
from bench.system import AMQP_URL, EXCHANGE, System
from devtools.processes import ROOT

T = TypeVar("T")
PASSWORD = "bench-password-1"  # noqa: S105 (the bench's own users, on loopback)


@dataclass
class User:
    username: str
    channel: str  # sms or email: where codes and alerts go
    number: int
    id: str = ""
    access_token: str = ""
    refresh_token: str = ""
    roles: list[str] = field(default_factory=list)

    @property
    def email(self) -> str:
        return f"{self.username}@bench.example.no"

    @property
    def phone(self) -> str:
        return f"+479{self.number:07d}"

    @property
    def destination(self) -> str:
        return self.phone if self.channel == "sms" else self.email

    def new_user_body(self) -> dict[str, Any]:
        return {"username": self.username, "password": PASSWORD, "display_name": self.username.title(),
                "email": self.email, "phone": self.phone, "notify_channel": self.channel,
                "roles": self.roles}

    def bearer(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.access_token}"}


class ApiError(RuntimeError):
    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status


async def bounded(items: Iterable[T], work: Callable[[T], Awaitable[Any]], limit: int) -> list[Any]:
    """`work` on every item, at most `limit` at once, in order."""
    semaphore = asyncio.Semaphore(limit)

    async def one(item: T) -> Any:
        async with semaphore:
            return await work(item)

    return await asyncio.gather(*(one(item) for item in items))


class Api:
    def __init__(self, system: System) -> None:
        self.system = system
        self.otp = OtpListener(AMQP_URL, EXCHANGE)
        self.http = aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=128))

    async def start(self) -> None:
        await self.otp.start()

    async def close(self) -> None:
        await self.http.close()
        await self.otp.close()

    async def call(self, method: str, service: str, path: str, expect: int, token: str = "",
                   json: Any = None) -> Any:
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        async with self.http.request(method, self.system.url(service) + path, json=json,
                                     headers=headers) as response:
            body = await response.json() if response.content_type.endswith("json") else None
            if response.status != expect:
                raise ApiError(response.status, f"{method} {path}: {response.status} {body}")
            return body

    async def create_admin(self, admin: User) -> None:
        """The first administrator, the way an installation makes one: the auth command line."""
        args = [sys.executable, "-m", "services.auth", "create-user", "--username", admin.username,
                "--display-name", "Bench Admin", "--email", admin.email, "--phone", admin.phone,
                "--notify-channel", admin.channel, "--admin"]
        process = await asyncio.create_subprocess_exec(
            *args, env={**self.system.env("auth"), "LOG_LEVEL": "WARNING"}, cwd=ROOT,
            stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
        out, err = await process.communicate(PASSWORD.encode() + b"\n")
        if process.returncode != 0:
            raise ApiError(process.returncode or 1, f"create-user: {err.decode()}")
        admin.id = out.decode().strip()

    async def login(self, user: User) -> None:
        """Password, then the code from the otp.requested event."""
        challenge = await self.call("POST", "auth", "/v1/auth/login", 200,
                                    json={"username": user.username, "password": PASSWORD})
        code = await self.otp.code(challenge["challenge_id"])
        tokens = await self.call("POST", "auth", "/v1/auth/verify", 200,
                                 json={"challenge_id": challenge["challenge_id"], "code": code})
        user.access_token, user.refresh_token = tokens["access_token"], tokens["refresh_token"]

    async def refresh(self, user: User) -> None:
        tokens = await self.call("POST", "auth", "/v1/auth/refresh", 200,
                                 json={"refresh_token": user.refresh_token})
        user.access_token, user.refresh_token = tokens["access_token"], tokens["refresh_token"]

    async def create_user(self, admin: User, user: User) -> None:
        created = await self.call("POST", "auth", "/v1/users", 201, admin.access_token,
                                  user.new_user_body())
        user.id = created["id"]

    async def create_plan(self, admin: User, title: str, owner: User, coordinator: User) -> str:
        plan = await self.call("POST", "plans", "/v1/plans", 201, admin.access_token,
                               {"title": title, "owner_id": owner.id, "coordinator_id": coordinator.id})
        return plan["id"]

    async def add_participant(self, coordinator: User, plan_id: str, user: User) -> None:
        await self.call("POST", "plans", f"/v1/plans/{plan_id}/participants", 201,
                        coordinator.access_token, {"user_id": user.id})
