"""Harness for the messages tests: the real messages service and notifier in-process, plan events
published to the test's exchange (as the plans service would), and a cast of logged-in users."""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import aio_pika
import asyncpg
import pytest
from aio_pika.abc import AbstractExchange, ExchangeType
from aiohttp import ClientResponse, web
from aiohttp.test_utils import TestClient

from services.common.web import CONSUMERS, DB, METRICS
from services.messages import events as message_events
from services.messages.app import create_app as create_messages_app
from services.messages.config import Settings as MessagesSettings
from services.notifier import events as notifier_events
from services.notifier.app import create_app as create_notifier_app
from services.notifier.config import Settings as NotifierSettings
from tests.servers import wait_until
from tests.support import AuthHarness, bearer, start_app

PUBLIC_URL = "https://samhandling.test/logg-inn"


def iso(when: datetime) -> str:
    return when.astimezone(UTC).isoformat().replace("+00:00", "Z")


async def wait_for_value(pool: asyncpg.Pool, sql: str, *args: Any, timeout: float = 10.0) -> Any:
    """Poll a query until it answers something truthy; that answer."""
    deadline = asyncio.get_running_loop().time() + timeout
    while True:
        value = await pool.fetchval(sql, *args)
        if value:
            return value
        if asyncio.get_running_loop().time() > deadline:
            raise TimeoutError(f"waited {timeout} s for: {sql}")
        await asyncio.sleep(0.02)


def consumed(app: web.Application, queue: str, outcome: str = "handled") -> float:
    """Events taken from `queue` with `outcome`, as the common consumer counts them."""
    return sum(
        sample.value
        for metric in app[METRICS].registry.collect()
        for sample in metric.samples
        if sample.name == "events_consumed_total"
        and sample.labels.get("queue") == queue and sample.labels.get("outcome") == outcome
    )


# --- publishing events to the test's exchange ------------------------------------------------------

class Publisher:
    """Publishes events to the test's exchange, as the other services' outbox relays do."""

    def __init__(self, exchange: AbstractExchange) -> None:
        self.exchange = exchange

    async def publish(self, type_: str, data: dict[str, Any], *, event_id: str | None = None,
                      occurred_at: datetime | None = None) -> str:
        envelope = {"id": event_id or str(uuid.uuid4()), "type": type_,
                    "occurred_at": iso(occurred_at or datetime.now(UTC)), "data": data}
        await self.publish_envelope(envelope)
        return envelope["id"]

    async def publish_envelope(self, envelope: dict[str, Any]) -> None:
        message = aio_pika.Message(json.dumps(envelope).encode(), message_id=envelope["id"],
                                   type=envelope["type"], content_type="application/json",
                                   delivery_mode=aio_pika.DeliveryMode.PERSISTENT)
        await self.exchange.publish(message, routing_key=envelope["type"])

    async def plan_created(self, plan_id: str, owner_id: str, coordinator_id: str,
                           **kwargs: Any) -> str:
        return await self.publish("plan.created", {"plan_id": plan_id, "title": "Kari sin plan",
                                                   "owner_id": owner_id,
                                                   "coordinator_id": coordinator_id}, **kwargs)

    async def participant_added(self, plan_id: str, user_id: str, role: str = "participant",
                                **kwargs: Any) -> str:
        return await self.publish("plan.participant_added",
                                  {"plan_id": plan_id, "user_id": user_id, "role": role}, **kwargs)

    async def participant_removed(self, plan_id: str, user_id: str, role: str = "participant",
                                  **kwargs: Any) -> str:
        return await self.publish("plan.participant_removed",
                                  {"plan_id": plan_id, "user_id": user_id, "role": role}, **kwargs)


@pytest.fixture(name="publisher")
async def publisher_fixture(service_env: Callable[..., dict[str, str]]) -> AsyncIterator[Publisher]:
    env = service_env("messages")
    connection = await aio_pika.connect(env["AMQP_URL"])
    channel = await connection.channel()
    exchange = await channel.declare_exchange(env["AMQP_EXCHANGE"], ExchangeType.TOPIC, durable=True)
    yield Publisher(exchange)
    await connection.close()


# --- the messages service --------------------------------------------------------------------------

@dataclass
class Messages:
    """The running messages service, and shortcuts for its API."""

    app: web.Application
    client: TestClient

    @property
    def pool(self) -> asyncpg.Pool:
        return self.app[DB]

    async def send(self, token: str, plan_id: str, recipient_ids: list[str], subject: str = "Møte",
                   body: str = "Ses vi på tirsdag?", *, in_reply_to: str | None = None,
                   headers: dict[str, str] | None = None) -> ClientResponse:
        payload: dict[str, Any] = {"plan_id": plan_id, "recipient_ids": recipient_ids,
                                   "subject": subject, "body": body}
        if in_reply_to is not None:
            payload["in_reply_to"] = in_reply_to
        return await self.client.post("/v1/messages", json=payload,
                                      headers={**bearer(token), **(headers or {})})

    async def sent(self, token: str, plan_id: str, recipient_ids: list[str], **kwargs: Any
                   ) -> dict[str, Any]:
        """Send, expecting 201; the message."""
        response = await self.send(token, plan_id, recipient_ids, **kwargs)
        assert response.status == 201, await response.text()
        return await response.json()

    async def get(self, token: str, path: str, **params: str) -> tuple[int, Any]:
        response = await self.client.get(path, headers=bearer(token), params=params)
        return response.status, await response.json()

    async def folder(self, token: str, **params: str) -> list[dict[str, Any]]:
        status, page = await self.get(token, "/v1/messages", **params)
        assert status == 200, page
        return page["items"]

    async def read(self, token: str, message_id: str) -> int:
        return (await self.client.post(f"/v1/messages/{message_id}/read", headers=bearer(token))).status

    async def unread(self, token: str, **params: str) -> int:
        status, body = await self.get(token, "/v1/messages/unread-count", **params)
        assert status == 200, body
        return body["unread"]

    async def wait_members(self, plan_id: str, user_ids: list[str], active: bool = True) -> None:
        await wait_for_value(
            self.pool, "select count(*) = $3 from plan_members"
            " where plan_id = $1 and user_id = any($2::uuid[]) and active = $4",
            uuid.UUID(plan_id), [uuid.UUID(u) for u in user_ids], len(user_ids), active)

    async def wait_users(self, user_ids: list[str]) -> None:
        await wait_for_value(self.pool, "select count(*) = $2 from users where id = any($1::uuid[])",
                             [uuid.UUID(u) for u in user_ids], len(user_ids))


StartMessages = Callable[..., Awaitable[Messages]]


@pytest.fixture(name="start_messages")
async def start_messages_fixture(service_env: Callable[..., dict[str, str]], auth: AuthHarness
                         ) -> AsyncIterator[StartMessages]:
    """Start the messages service (tokens checked against the test's auth); overrides are env vars."""
    clients: list[TestClient] = []

    async def start(**overrides: str) -> Messages:
        app = create_messages_app(MessagesSettings.from_env(
            service_env("messages", AUTH_URL=auth.url, **overrides)))
        client = await start_app(app)
        clients.append(client)
        await wait_until(lambda: len(app[CONSUMERS]) == len(message_events.QUEUES), 15,
                         "the messages service's consumers")
        return Messages(app, client)

    yield start
    for client in clients:
        await client.close()


@pytest.fixture(name="messages")
async def messages_fixture(start_messages: StartMessages) -> Messages:
    return await start_messages()


# --- the notifier ----------------------------------------------------------------------------------

@dataclass
class Notifier:
    app: web.Application
    client: TestClient

    @property
    def pool(self) -> asyncpg.Pool:
        return self.app[DB]

    async def stop(self) -> None:
        await self.client.close()

    async def alert_deliveries(self, user_id: str) -> list[asyncpg.Record]:
        return await self.pool.fetch(
            "select * from deliveries where kind = 'alert' and user_id = $1 order by created_at",
            uuid.UUID(user_id))

    async def finished_alert(self, user_id: str) -> asyncpg.Record:
        """The user's one alert delivery, once it is finished (the server may have the message a
        moment before the notifier has recorded that)."""
        delivery_id = await wait_for_value(
            self.pool, "select id from deliveries where kind = 'alert' and user_id = $1"
            " and status <> 'pending'", uuid.UUID(user_id))
        return await self.pool.fetchrow("select * from deliveries where id = $1", delivery_id)

    async def attempts(self, delivery_id: uuid.UUID) -> list[asyncpg.Record]:
        return await self.pool.fetch(
            "select * from delivery_attempts where delivery_id = $1 order by attempt", delivery_id)


StartNotifier = Callable[..., Awaitable[Notifier]]


@pytest.fixture(name="start_notifier")
async def start_notifier_fixture(service_env: Callable[..., dict[str, str]], tmp_path: Path
                         ) -> AsyncIterator[StartNotifier]:
    """Start the notifier with short retry pauses and a short alert window; overrides are env vars."""
    clients: list[TestClient] = []

    async def start(**overrides: str) -> Notifier:
        env = service_env("notifier", **{
            "DEV_OUTBOX_DIR": str(tmp_path / "outbox"),
            "PUBLIC_URL": PUBLIC_URL,
            "DELIVERY_RETRY_INITIAL_SECONDS": "0.05",
            "DELIVERY_RETRY_MAX_SECONDS": "0.2",
            "ALERT_RETRY_INITIAL_SECONDS": "0.05",
            "ALERT_RETRY_MAX_SECONDS": "0.2",
            "ALERT_POLL_SECONDS": "0.2",
            "ALERT_WINDOW_SECONDS": "2",
            **overrides,
        })
        app = create_notifier_app(NotifierSettings.from_env(env))
        client = await start_app(app)
        clients.append(client)
        await wait_until(lambda: len(app[CONSUMERS]) == len(notifier_events.QUEUES), 15,
                         "the notifier's consumers")
        return Notifier(app, client)

    yield start
    for client in clients:
        await client.close()


# --- a cast of users in a plan ---------------------------------------------------------------------

@dataclass
class Cast:
    """Users known to auth (and, through events, to messages and the notifier), logged in."""

    ids: dict[str, str] = field(default_factory=dict)
    tokens: dict[str, str] = field(default_factory=dict)

    def __getitem__(self, name: str) -> str:
        return self.ids[name]


async def make_cast(auth: AuthHarness, messages: Messages, users: dict[str, dict[str, Any]],
                    login: bool = True) -> Cast:
    """Create each user in auth (user.created reaches the services listening), wait until messages
    knows their names, and log each in for a real access token."""
    cast = Cast()
    for name, fields in users.items():
        cast.ids[name] = await auth.create_user(name, **fields)
    await messages.wait_users(list(cast.ids.values()))
    if login:
        for name in users:
            cast.tokens[name] = await auth.token(name)
    return cast


async def make_plan(publisher: Publisher, messages: Messages, owner: str, coordinator: str,
                    participants: tuple[str, ...] = ()) -> str:
    """A plan, made known to messages by plan.created and plan.participant_added events."""
    plan_id = str(uuid.uuid4())
    await publisher.plan_created(plan_id, owner, coordinator)
    for user_id in participants:
        await publisher.participant_added(plan_id, user_id)
    await messages.wait_members(plan_id, list(dict.fromkeys([owner, coordinator, *participants])))
    return plan_id


# --- a scene for alerts: both services, four people on four kinds of channel ----------------------

ALERT_USERS: dict[str, dict[str, Any]] = {
    "ola": {"display_name": "Ola Koordinator", "email": "ola@example.no"},  # e-mail, bokmål (default)
    "kari": {"display_name": "Kari Nordmann", "phone": "+4791234567", "notify_channel": "sms",
             "locale": "en"},
    "per": {"display_name": "Per Hjelper", "email": "per@example.no", "locale": "nn"},
    "siri": {"display_name": "Siri Stille", "email": "siri@example.no", "notify_channel": "none"},
}


@dataclass
class AlertScene:
    notifier: Notifier
    messages: Messages
    cast: Cast
    plan_id: str


async def make_alert_scene(auth: AuthHarness, publisher: Publisher, start_notifier: StartNotifier,
                           start_messages: StartMessages, notifier_env: dict[str, str],
                           messages_env: dict[str, str] | None = None) -> AlertScene:
    """Both services running before the users are created (so both hear of them), a plan with all
    four, and everyone logged in."""
    notifier = await start_notifier(**notifier_env)
    messages = await start_messages(**(messages_env or {}))
    cast = await make_cast(auth, messages, ALERT_USERS)
    await wait_for_value(notifier.pool, "select count(*) = $2 from contacts where user_id = any($1::uuid[])",
                         [uuid.UUID(u) for u in cast.ids.values()], len(cast.ids))
    plan_id = await make_plan(publisher, messages, cast["kari"], cast["ola"], (cast["per"], cast["siri"]))
    return AlertScene(notifier, messages, cast, plan_id)


def alerts_in(received: list[Any]) -> list[Any]:
    """The alerts among what a server received (the rest are one-time codes from logging in)."""
    return [r for r in received if PUBLIC_URL in r.text]
