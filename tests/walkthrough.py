"""The whole system as separate processes behind the local gateway, for the walkthrough tests."""

from __future__ import annotations

import asyncio
import os
import sys
import time
from collections.abc import Callable
from typing import Any

import aiohttp
from aiohttp import web

from devtools.gateway import create_gateway
from devtools.processes import ROOT, ServiceProcess, free_port, run_module
from tests.servers import SmsGateway, SmtpServer, find_code

SERVICES = ("auth", "plans", "messages", "notifier")
PASSWORD = "walk through it"


class System:
    """Every service with `replicas` processes each, a gateway in front, real SMTP and SMS."""

    def __init__(self, service_env: Callable[..., dict[str, str]], smtp: SmtpServer,
                 sms: SmsGateway, replicas: int, **extra: str) -> None:
        self.gateway_port = free_port()
        self.url = f"http://127.0.0.1:{self.gateway_port}"
        env: dict[str, str] = {}
        for service in SERVICES:
            env.update(service_env(service))
        env.update(smtp.env(), **sms.env(), AUTH_URL=self.url, PUBLIC_URL=self.url,
                   TRUSTED_PROXY_HOPS="1", LOG_LEVEL="INFO", **extra)
        self.env = env
        self.smtp, self.sms = smtp, sms
        self.processes = [ServiceProcess(s, env) for s in SERVICES for _ in range(replicas)]
        self.gateway: web.AppRunner | None = None
        self.http: aiohttp.ClientSession | None = None
        self.tokens: dict[str, str] = {}
        self.ids: dict[str, str] = {}

    async def start(self) -> None:
        for service in SERVICES:
            await run_module([f"services.{service}", "migrate"], {**self.env, "LOG_LEVEL": "WARNING"})
        await asyncio.gather(*(p.start() for p in self.processes))
        upstreams: dict[str, list[str]] = {}
        for process in self.processes:
            upstreams.setdefault(process.service, []).append(process.url)
        self.gateway = web.AppRunner(create_gateway(upstreams))
        await self.gateway.setup()
        await web.TCPSite(self.gateway, "127.0.0.1", self.gateway_port).start()
        self.http = aiohttp.ClientSession(self.url)

    async def stop(self) -> None:
        if self.http is not None:
            await self.http.close()
        if self.gateway is not None:
            await self.gateway.cleanup()
        for process in self.processes:
            try:
                await process.stop(timeout=20)
            finally:
                await process.kill()

    async def call(self, who: str | None, method: str, path: str, body: Any = None,
                   expect: int = 200, retry_on: tuple[int, ...] = ()) -> Any:
        """One API call through the gateway as `who`; retried for a while on `retry_on`
        (a projection that has not caught up yet)."""
        assert self.http is not None
        headers = {"Authorization": f"Bearer {self.tokens[who]}"} if who else {}
        deadline = time.monotonic() + 30
        while True:
            async with self.http.request(method, path, json=body, headers=headers) as response:
                answer = await response.json() if response.status != 204 else None
                if response.status in retry_on and time.monotonic() < deadline:
                    await asyncio.sleep(0.2)
                    continue
                assert response.status == expect, (method, path, response.status, answer)
                return answer

    async def create_first_admin(self, username: str) -> None:
        process = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "services.auth", "create-user", "--username", username,
            "--display-name", "Anne Admin", "--email", f"{username}@example.no", "--admin",
            cwd=ROOT, env={**os.environ, **self.env, "LOG_LEVEL": "WARNING"},
            stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE)
        out, _ = await process.communicate(PASSWORD.encode() + b"\n")
        assert process.returncode == 0
        self.ids[username] = out.decode().strip()

    async def create_user(self, username: str, phone: str, channel: str, **fields: str) -> str:
        """As the administrator (logged in already), through the API; the new user's id."""
        user = await self.call("admin", "POST", "/v1/users", {
            "username": username, "password": PASSWORD, "display_name": username.title(),
            "email": f"{username}@example.no", "phone": phone, "notify_channel": channel,
            **fields}, expect=201)
        self.ids[username] = user["id"]
        return user["id"]

    async def login(self, username: str, destination: str, password: str = PASSWORD) -> None:
        """Password, then the code as the person reads it from their e-mail or SMS."""
        sink = self.sms if destination.startswith("+") else self.smtp
        before = len(sink.messages_to(destination))
        challenge = await self.call(None, "POST", "/v1/auth/login",
                                    {"username": username, "password": password})
        received = await sink.wait_for(before + 1, to=destination, timeout=20)
        code = find_code(received[-1].text)
        tokens = await self.call(None, "POST", "/v1/auth/verify",
                                 {"challenge_id": challenge["challenge_id"], "code": code})
        self.tokens[username] = tokens["access_token"]
        self.ids[username] = (await self.call(username, "GET", "/v1/users/me"))["id"]
