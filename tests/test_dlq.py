"""Dead letters: a failing event lands in `<service>.dead`; operators list, inspect and replay it."""

from __future__ import annotations

import asyncio
import json
import os
import sys

import aio_pika

from services.common.broker import Broker
from services.common.consumer import Consumer, PermanentFailure, Subscription, declare_queues
from services.common.events import Event, new_event
from services.common.metrics import Metrics
from tests.processes import ROOT


async def dlq(env: dict[str, str], *args: str) -> tuple[int, str, str]:
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "services.common.dlq", "notifier", *args, cwd=ROOT,
        env={**os.environ, **env}, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
    out, err = await asyncio.wait_for(process.communicate(), 30)
    return process.returncode, out.decode(), err.decode()


async def test_a_poison_event_is_dead_lettered_listed_and_replayed(service_env) -> None:
    env = service_env("notifier")
    broker = Broker(env["AMQP_URL"], env["AMQP_EXCHANGE"], env["AMQP_QUEUE_PREFIX"])
    broker.start()
    await broker.wait_connected(10)
    handled: list[str] = []
    healthy = asyncio.Event()

    async def handler(event: Event) -> None:
        if not healthy.is_set():
            raise PermanentFailure("cannot handle this yet")
        handled.append(event.id)

    sub = Subscription("notifier.otp", {"otp.requested": handler}, retry_delay=0.05)
    await declare_queues(broker, "notifier", [sub])
    consumer = Consumer(broker, "notifier", sub, Metrics("test"))
    await consumer.attach()
    try:
        poison = new_event("otp.requested", {"code": "482913", "destination": "+4791234567"})
        await broker.publish(poison)
        malformed = aio_pika.Message(b"{not json", message_id="not-an-event")
        await broker.exchange.publish(malformed, routing_key="otp.requested")

        for _ in range(100):
            code, out, _ = await dlq(env, "list")
            if out.count("\n") >= 2:
                break
            await asyncio.sleep(0.1)
        listed = [json.loads(line) for line in out.splitlines()]
        assert {d["event_id"] for d in listed} == {poison.id, "not-an-event"}
        assert all(d["from_queue"] == env["AMQP_QUEUE_PREFIX"] + "notifier.otp" for d in listed)
        assert "482913" not in out and "+4791234567" not in out

        code, out, _ = await dlq(env, "inspect", poison.id)
        assert code == 0 and json.loads(out)["data_fields"] == ["code", "destination"]
        assert "482913" not in out

        healthy.set()
        code, out, _ = await dlq(env, "replay", poison.id)
        assert code == 0
        for _ in range(100):
            if handled:
                break
            await asyncio.sleep(0.05)
        assert handled == [poison.id]
        _, out, _ = await dlq(env, "list")
        assert [json.loads(line)["event_id"] for line in out.splitlines()] == ["not-an-event"]
    finally:
        await consumer.stop(1)
        await broker.close()


async def test_an_event_that_keeps_failing_is_dead_lettered_after_the_limit(service_env) -> None:
    env = service_env("notifier")
    broker = Broker(env["AMQP_URL"], env["AMQP_EXCHANGE"], env["AMQP_QUEUE_PREFIX"])
    broker.start()
    await broker.wait_connected(10)
    tries: dict[str, int] = {}
    handled: list[str] = []

    async def handler(event: Event) -> None:
        tries[event.id] = tries.get(event.id, 0) + 1
        if event.data.get("poison"):
            raise RuntimeError("a bug that no retry mends")
        handled.append(event.id)

    sub = Subscription("notifier.otp", {"otp.requested": handler}, delivery_limit=3,
                       retry_delay=0.05)
    await declare_queues(broker, "notifier", [sub])
    consumer = Consumer(broker, "notifier", sub, Metrics("test"))
    await consumer.attach()
    try:
        poison = new_event("otp.requested", {"poison": True})
        await broker.publish(poison)
        healthy = [new_event("otp.requested", {"n": n}) for n in range(3)]
        for event in healthy:
            await broker.publish(event)
        for _ in range(100):
            _, out, _ = await dlq(env, "list")
            if out.strip():
                break
            await asyncio.sleep(0.1)
        assert json.loads(out)["event_id"] == poison.id
        assert 3 <= tries[poison.id] <= 4  # the first delivery and up to the limit of redeliveries
        assert sorted(handled) == sorted(e.id for e in healthy)  # the consumer went on
    finally:
        await consumer.stop(1)
        await broker.close()
