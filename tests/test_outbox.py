"""The outbox relay: nothing lost while RabbitMQ is unreachable, nothing relayed twice."""

from __future__ import annotations

import asyncio
from pathlib import Path

import asyncpg

from services.common import db
from services.common.broker import Broker
from services.common.metrics import Metrics
from services.common.outbox import OutboxRelay, add_event
from tests.netproxy import TcpProxy
from tests.support import EventTap

SERVICE_DIR = Path(__file__).parent  # no migrations of its own: only the common outbox tables


async def write_events(pool: asyncpg.Pool, count: int) -> set[str]:
    ids = set()
    async with pool.acquire() as conn, conn.transaction():
        for n in range(count):
            ids.add((await add_event(conn, "test.happened", {"n": n})).id)
    return ids


async def outbox_pool(service_env) -> tuple[asyncpg.Pool, dict[str, str]]:
    env = service_env("outboxtest")
    url = env["OUTBOXTEST_DATABASE_URL"]
    await db.apply_migrations(url, SERVICE_DIR)
    return await db.create_pool(url, 1, 4), env


async def test_events_written_while_the_broker_is_down_arrive_when_it_is_back(service_env,
                                                                              event_tap: EventTap
                                                                              ) -> None:
    pool, env = await outbox_pool(service_env)
    proxy = TcpProxy("127.0.0.1", 5672)
    await proxy.start()
    broker = Broker(f"amqp://guest:guest@127.0.0.1:{proxy.port}/", env["AMQP_EXCHANGE"])
    broker.start()
    await broker.wait_connected(10)
    relay = OutboxRelay(pool, broker, Metrics("test"), poll_interval=0.2)
    relay.start()
    try:
        await proxy.cut()
        written = await write_events(pool, 20)
        await asyncio.sleep(1.0)
        assert await pool.fetchval("select count(*) from outbox") == 20
        assert not event_tap.events
        await proxy.restore()
        arrived = await event_tap.wait_for("test.happened", count=20, timeout=30)
        assert {e["id"] for e in arrived} == written
        await asyncio.sleep(0.5)
        assert len(event_tap.events) == 20
        assert await pool.fetchval("select count(*) from outbox") == 0
    finally:
        await relay.stop()
        await broker.close()
        await proxy.cut()
        await pool.close()


async def test_two_relays_never_publish_the_same_row_twice(service_env, event_tap: EventTap
                                                           ) -> None:
    pool, env = await outbox_pool(service_env)
    brokers = [Broker(env["AMQP_URL"], env["AMQP_EXCHANGE"]) for _ in range(2)]
    for broker in brokers:
        broker.start()
        await broker.wait_connected(10)
    written = await write_events(pool, 600)
    relays = [OutboxRelay(pool, broker, Metrics("test"), batch_size=50) for broker in brokers]
    for relay in relays:
        relay.start()
    try:
        arrived = await event_tap.wait_for("test.happened", count=600, timeout=30)
        await asyncio.sleep(0.5)
        ids = [e["id"] for e in event_tap.events]
        assert len(ids) == len(set(ids)) == 600
        assert set(ids) == written == {e["id"] for e in arrived}
    finally:
        for relay in relays:
            await relay.stop()
        for broker in brokers:
            await broker.close()
        await pool.close()


class CrashingRelay(OutboxRelay):
    """Dies once after the broker confirmed a batch but before the rows were removed."""

    crashed = False

    async def _forget(self, conn: asyncpg.Connection, sent: list[int]) -> None:
        if not self.crashed:
            self.crashed = True
            raise ConnectionResetError("relay died between the confirm and the delete")
        await super()._forget(conn, sent)


async def test_a_relay_crash_after_the_confirm_sends_again_and_consumers_ignore_it(
    service_env, event_tap: EventTap
) -> None:
    from services.common.consumer import Consumer, Subscription, claim_event, declare_queues

    pool, env = await outbox_pool(service_env)
    broker = Broker(env["AMQP_URL"], env["AMQP_EXCHANGE"], env["AMQP_QUEUE_PREFIX"])
    broker.start()
    await broker.wait_connected(10)
    effects: list[str] = []

    async def handler(event) -> None:
        async with pool.acquire() as conn, conn.transaction():
            if await claim_event(conn, event):
                effects.append(event.id)

    sub = Subscription("notifier.users", {"test.happened": handler})
    await declare_queues(broker, "notifier", [sub])
    consumer = Consumer(broker, "notifier", sub, Metrics("test"))
    await consumer.attach()
    relay = CrashingRelay(pool, broker, Metrics("test"), poll_interval=0.1)
    relay.start()
    try:
        written = await write_events(pool, 5)
        arrived = await event_tap.wait_for("test.happened", count=10, timeout=20)
        assert [e["id"] for e in arrived].count(next(iter(written))) == 2  # published twice
        for _ in range(100):
            if len(effects) == 5:
                break
            await asyncio.sleep(0.05)
        await asyncio.sleep(0.3)
        assert sorted(effects) == sorted(written)  # handled once each
        assert await pool.fetchval("select count(*) from outbox") == 0
    finally:
        await consumer.stop(1)
        await relay.stop()
        await broker.close()
        await pool.close()
