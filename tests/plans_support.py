"""Test harness for plans: the real auth service, plans on loopback, users it knows, their tokens."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from typing import Any

import aio_pika
import asyncpg
import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient

from services.common.web import CONSUMERS, DB, METRICS
from services.plans.app import create_app
from services.plans.config import Settings
from services.plans.events import QUEUES, USERS_QUEUE
from tests.support import AuthHarness, bearer, start_app

# username, display name, admin
PEOPLE = [
    ("admin", "Anne Admin", True),
    ("kari", "Kari Nordmann", False),  # the person the plan is for
    ("ola", "Ola Koordinator", False),  # the plan's coordinator
    ("per", "Per Hjelper", False),  # a participant
    ("tor", "Tor Tidligere", False),  # a participant who will be removed
    ("eva", "Eva Utenfor", False),  # never in the plan
]
TABLES = ("users", "plans", "participants", "goals", "activities", "comments", "calendar_events",
          "assessments", "access_log", "outbox", "idempotency_keys", "processed_events")


async def poll(check: Callable[[], Any], timeout: float, what: str) -> Any:
    """Await `check()` until it returns something truthy; that value."""
    deadline = time.monotonic() + timeout
    while True:
        value = await check()
        if value:
            return value
        if time.monotonic() > deadline:
            raise TimeoutError(f"waited {timeout} s for {what}")
        await asyncio.sleep(0.02)


@dataclass
class Plans:
    """A running plans app next to the real auth, and the people it knows."""

    app: web.Application
    client: TestClient
    auth: AuthHarness
    env: dict[str, str]
    ids: dict[str, str] = field(default_factory=dict)
    headers: dict[str, dict[str, str]] = field(default_factory=dict)

    @property
    def pool(self) -> asyncpg.Pool:
        return self.app[DB]

    async def call(self, who: str | None, method: str, path: str, body: Any = None,
                   headers: dict[str, str] | None = None) -> tuple[int, Any]:
        """(status, JSON answer or None) of a call as `who` (None: no token)."""
        all_headers = {**(self.headers[who] if who else {}), **(headers or {})}
        response = await self.client.request(method, path, json=body, headers=all_headers)
        text = await response.text()
        return response.status, json.loads(text) if text else None

    async def ok(self, who: str, method: str, path: str, body: Any = None,
                 status: int | None = None) -> Any:
        """The answer of a call that must succeed (with `status`, or 200/201/204)."""
        got, answer = await self.call(who, method, path, body)
        expected = status or {"POST": 201, "DELETE": 204}.get(method, 200)
        assert got == expected, (method, path, got, answer)
        return answer

    async def new_plan(self, title: str = "Kari sin plan", owner: str = "kari",
                       coordinator: str = "ola") -> str:
        plan = await self.ok("admin", "POST", "/v1/plans", {
            "title": title, "owner_id": self.ids[owner], "coordinator_id": self.ids[coordinator]})
        return plan["id"]

    async def add_person(self, username: str, display_name: str, admin: bool = False) -> str:
        """A user created in auth, once plans' copy of users has them."""
        user_id = await self.auth.create_user(username, display_name=display_name, admin=admin,
                                              phone="+4790000000")
        await self.wait_user(user_id, display_name)
        return user_id

    async def wait_user(self, user_id: str, display_name: str, timeout: float = 10.0) -> None:
        async def known() -> bool:
            name = await self.pool.fetchval("select display_name from users where id = $1",
                                            user_id)
            return name == display_name

        await poll(known, timeout, f"plans to know {display_name}")

    def consumed(self, outcome: str = "handled") -> float:
        return sum(
            sample.value
            for metric in self.app[METRICS].registry.collect()
            for sample in metric.samples
            if sample.name == "events_consumed_total"
            and sample.labels.get("queue") == USERS_QUEUE and sample.labels.get("outcome") == outcome
        )

    async def publish(self, envelope: dict[str, Any]) -> None:
        """Put an event on the test's exchange, as auth's relay would."""
        connection = await aio_pika.connect(self.env["AMQP_URL"])
        try:
            channel = await connection.channel()
            exchange = await channel.declare_exchange(self.env["AMQP_EXCHANGE"],
                                                      aio_pika.ExchangeType.TOPIC, durable=True)
            await exchange.publish(
                aio_pika.Message(json.dumps(envelope).encode(), message_id=envelope["id"],
                                 type=envelope["type"], content_type="application/json"),
                routing_key=envelope["type"])
        finally:
            await connection.close()

    async def snapshot(self, tables: tuple[str, ...] = TABLES) -> str:
        """Every row of `tables`. The outbox is compared by how many rows it has ever had (its
        sequence), after the relay has drained it, since the relay deletes rows at its own pace."""

        async def drained() -> bool:
            return await self.pool.fetchval("select count(*) from outbox") == 0

        await poll(drained, 10, "the outbox to drain")
        rows: dict[str, Any] = {}
        async with self.pool.acquire() as conn:
            for table in tables:
                if table == "outbox":
                    rows[table] = dict(await conn.fetchrow(
                        "select last_value, is_called from outbox_id_seq"))
                else:
                    rows[table] = [dict(r) for r in
                                   await conn.fetch(f"select * from {table} order by 1")]
        return json.dumps(rows, default=str, sort_keys=True)


async def start_plans(auth: AuthHarness, env: dict[str, str]) -> tuple[web.Application, TestClient]:
    app = create_app(Settings.from_env(env))
    client = await start_app(app)

    async def consuming() -> bool:
        return len(app[CONSUMERS]) == len(QUEUES)

    # The queue must exist before users are created, or their events would pass it by.
    await poll(consuming, 15, "plans' consumers")
    return app, client


@pytest.fixture(name="plans")
async def plans_fixture(auth: AuthHarness, service_env: Callable[..., dict[str, str]]
                ) -> AsyncIterator[Plans]:
    """Plans beside the real auth, knowing PEOPLE, with a logged-in token for each."""
    env = service_env("plans", AUTH_URL=auth.url)
    app, client = await start_plans(auth, env)
    harness = Plans(app, client, auth, env)
    try:
        for username, display_name, admin in PEOPLE:
            harness.ids[username] = await auth.create_user(
                username, display_name=display_name, admin=admin, phone="+4791234567")
        for username, display_name, _ in PEOPLE:
            await harness.wait_user(harness.ids[username], display_name)
        tokens = await asyncio.gather(*(auth.token(username) for username, _, _ in PEOPLE))
        harness.headers = {username: bearer(token)
                           for (username, _, _), token in zip(PEOPLE, tokens, strict=True)}
        yield harness
    finally:
        await client.close()


@dataclass
class Scene:
    """A plan with one of everything in it: kari owns it, ola coordinates, per and tor take part
    (until a test removes tor), eva is outside."""

    plan: str
    goal: str
    activity: str
    event: str
    assessment: str


async def build_scene(plans: Plans) -> Scene:
    plan = await plans.new_plan()
    for person in ("per", "tor"):
        await plans.ok("ola", "POST", f"/v1/plans/{plan}/participants",
                       {"user_id": plans.ids[person], "role": "participant"})
    goal = await plans.ok("ola", "POST", f"/v1/plans/{plan}/goals",
                          {"title": "Bo hjemme", "description": "Klare seg selv i egen bolig"})
    activity = await plans.ok("ola", "POST", f"/v1/plans/{plan}/goals/{goal['id']}/activities",
                              {"title": "Handle mat", "description": "Hver fredag",
                               "due_date": "2031-05-01", "responsible_id": plans.ids["per"]})
    event = await plans.ok("ola", "POST", f"/v1/plans/{plan}/events", {
        "title": "Ansvarsgruppemøte", "starts_at": "2031-05-02T08:00:00Z",
        "ends_at": "2031-05-02T09:00:00Z", "location": "Legekontoret"})
    assessment = await plans.ok("ola", "POST", f"/v1/plans/{plan}/assessments",
                                {"title": "Kartlegging", "text": "Trenger hjelp med innkjøp."})
    return Scene(plan, goal["id"], activity["id"], event["id"], assessment["id"])
