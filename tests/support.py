"""Test harness: running real services in-process on loopback, and watching the event exchange."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Callable
from typing import Any

import aio_pika
import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer

from services.auth import accounts
from services.auth.app import create_app as create_auth_app
from services.auth.appkeys import KEYRING, PASSWORDS
from services.auth.config import Settings as AuthSettings
from services.auth.keys import KeyRing
from services.auth.schemas import NewUser
from services.common.web import BROKER, DB

DEFAULT_PASSWORD = "correct horse battery"
# Passwords and tokens the tests used; no log line of the whole run may contain one (conftest).
# (One-time codes are checked by the tests that see them: six digits recur by chance in ids.)
SECRETS_SEEN: set[str] = {DEFAULT_PASSWORD}


class EventTap:
    """A private, exclusive queue bound to every routing key of the test's exchange."""

    def __init__(self, amqp_url: str, exchange: str) -> None:
        self.amqp_url = amqp_url
        self.exchange = exchange
        self.events: list[dict[str, Any]] = []
        self._arrived = asyncio.Condition()

    async def start(self) -> None:
        self.connection = await aio_pika.connect(self.amqp_url)
        channel = await self.connection.channel()
        exchange = await channel.declare_exchange(self.exchange, aio_pika.ExchangeType.TOPIC,
                                                  durable=True)
        queue = await channel.declare_queue(exclusive=True, auto_delete=True)
        await queue.bind(exchange, routing_key="#")
        await queue.consume(self._on_message, no_ack=True)

    async def _on_message(self, message: aio_pika.abc.AbstractIncomingMessage) -> None:
        async with self._arrived:
            self.events.append(json.loads(message.body))
            self._arrived.notify_all()

    async def wait_for(self, type_: str, where: Callable[[dict[str, Any]], bool] = lambda e: True,
                       count: int = 1, timeout: float = 10.0) -> list[dict[str, Any]]:
        def matching() -> list[dict[str, Any]]:
            return [e for e in self.events if e["type"] == type_ and where(e)]

        async with asyncio.timeout(timeout), self._arrived:
            await self._arrived.wait_for(lambda: len(matching()) >= count)
        return matching()

    async def close(self) -> None:
        await self.connection.close()


class AuthHarness:
    """The real auth service on a loopback port, with shortcuts for setting up users."""

    def __init__(self, app: web.Application, client: TestClient, tap: EventTap) -> None:
        self.app = app
        self.client = client
        self.tap = tap

    def keyring(self) -> KeyRing:
        return self.app[KEYRING]

    def app_keyring_kid(self) -> str:
        assert self.keyring().signing is not None
        return self.keyring().signing.kid

    @property
    def url(self) -> str:
        return str(self.client.make_url("")).rstrip("/")

    async def create_user(self, username: str, password: str = DEFAULT_PASSWORD, *,
                          admin: bool = False, **fields: Any) -> str:
        """As the create-user command does: straight into auth's database, event included."""
        SECRETS_SEEN.add(password)
        new_user = NewUser(
            username=username, password=password,
            display_name=fields.pop("display_name", username.title()),
            email=fields.pop("email", f"{username}@example.no"),
            roles=["admin"] if admin else [], **fields,
        )
        password_hash = await self.app[PASSWORDS].hash(password)
        async with self.app[DB].acquire() as conn, conn.transaction():
            user = await accounts.create_user(conn, new_user, password_hash)
        assert user is not None
        return str(user["id"])

    async def start_login(self, username: str, password: str = DEFAULT_PASSWORD) -> dict[str, Any]:
        response = await self.client.post("/v1/auth/login",
                                          json={"username": username, "password": password})
        assert response.status == 200, await response.text()
        return await response.json()

    async def code_for(self, challenge_id: str, nth: int = 1) -> str:
        """The code of the nth otp.requested event for this challenge, as the notifier gets it."""
        events = await self.tap.wait_for(
            "otp.requested", lambda e: e["data"]["challenge_id"] == challenge_id, count=nth)
        return events[nth - 1]["data"]["code"]

    async def login(self, username: str, password: str = DEFAULT_PASSWORD) -> dict[str, Any]:
        challenge = await self.start_login(username, password)
        code = await self.code_for(challenge["challenge_id"])
        response = await self.client.post(
            "/v1/auth/verify", json={"challenge_id": challenge["challenge_id"], "code": code})
        assert response.status == 200, await response.text()
        tokens = await response.json()
        SECRETS_SEEN.update((tokens["access_token"], tokens["refresh_token"], password))
        return tokens

    async def token(self, username: str, password: str = DEFAULT_PASSWORD) -> str:
        return (await self.login(username, password))["access_token"]


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


async def start_app(app: web.Application) -> TestClient:
    client = TestClient(TestServer(app, host="127.0.0.1"))
    await client.start_server()
    return client


async def wait_broker(app: web.Application, timeout: float = 10.0) -> None:
    await app[BROKER].wait_connected(timeout)


@pytest.fixture
async def event_tap(service_env: Callable[..., dict[str, str]]) -> AsyncIterator[EventTap]:
    env = service_env("auth")
    tap = EventTap(env["AMQP_URL"], env["AMQP_EXCHANGE"])
    await tap.start()
    yield tap
    await tap.close()


@pytest.fixture
async def make_auth(service_env: Callable[..., dict[str, str]], event_tap: EventTap
                    ) -> AsyncIterator[Callable[..., Any]]:
    """Starts auth with extra environment settings; `make_auth(OTP_TTL_SECONDS="1")`."""
    clients: list[TestClient] = []

    async def make(**env: str) -> AuthHarness:
        app = create_auth_app(AuthSettings.from_env(service_env("auth", **env)))
        client = await start_app(app)
        clients.append(client)
        await wait_broker(app)
        return AuthHarness(app, client, event_tap)

    yield make
    for client in clients:
        await client.close()


@pytest.fixture
async def auth(make_auth: Callable[..., Any]) -> AuthHarness:
    return await make_auth()
