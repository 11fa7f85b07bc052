"""Consuming events: a durable quorum queue per purpose, dead letters, ack after the effect commits."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass

import aio_pika
import asyncpg
from aio_pika.abc import AbstractIncomingMessage, AbstractQueue

from services.common.broker import BROKER_ERRORS, Broker
from services.common.events import Event, MalformedEvent, decode_event
from services.common.logging import event_id_var
from services.common.metrics import Metrics

log = logging.getLogger(__name__)

EventHandler = Callable[[Event], Awaitable[None]]
CANCEL_TIMEOUT = 2.0


class PermanentFailure(Exception):
    """Handling this event can never succeed; it goes to the dead-letter queue at once."""


@dataclass(frozen=True)
class Subscription:
    """One queue: `name` like `notifier.otp`, the event types it takes, and what handles each."""

    name: str
    handlers: dict[str, EventHandler]
    prefetch: int = 16
    delivery_limit: int = 10
    retry_delay: float = 1.0


async def claim_event(conn: asyncpg.Connection, event: Event) -> bool:
    """Record the event as processed in the caller's transaction; False if it already was."""
    claimed = await conn.fetchval(
        "insert into processed_events (event_id, type) values ($1, $2)"
        " on conflict (event_id) do nothing returning true",
        event.id,
        event.type,
    )
    return bool(claimed)


async def was_processed(conn: asyncpg.Connection | asyncpg.Pool, event_id: str) -> bool:
    return bool(await conn.fetchval("select true from processed_events where event_id = $1",
                                    event_id))


def dead_letter_queue(broker: Broker, service: str) -> str:
    return broker.queue_name(f"{service}.dead")


async def declare_queues(
    broker: Broker, service: str, subscriptions: Sequence[Subscription]
) -> dict[str, AbstractQueue]:
    """Declare the service's dead-letter queue and each subscription's queue and bindings."""
    assert broker.channel is not None and broker.exchange is not None
    dead = dead_letter_queue(broker, service)
    await broker.channel.declare_queue(dead, durable=True, arguments={"x-queue-type": "quorum"})
    queues = {}
    for sub in subscriptions:
        queue = await broker.channel.declare_queue(
            broker.queue_name(sub.name),
            durable=True,
            arguments={
                "x-queue-type": "quorum",
                "x-delivery-limit": sub.delivery_limit,
                "x-dead-letter-exchange": "",
                "x-dead-letter-routing-key": dead,
            },
        )
        for routing_key in sub.handlers:
            await queue.bind(broker.exchange, routing_key=routing_key)
        queues[sub.name] = queue
    return queues


async def settle(outcome: Awaitable[object]) -> None:
    """Ack, nack or reject; if the channel died meanwhile the broker redelivers the message,
    and handlers are idempotent, so that is only worth a warning."""
    try:
        await outcome
    except BROKER_ERRORS as exc:
        log.warning("could not settle a message; the broker will redeliver it",
                    extra={"error": type(exc).__name__})


class Consumer:
    """Runs one subscription: each message is handled in its own task (up to `prefetch` at once)."""

    def __init__(self, broker: Broker, service: str, sub: Subscription, metrics: Metrics) -> None:
        self.broker = broker
        self.service = service
        self.sub = sub
        self.metrics = metrics
        self._tag: str | None = None
        self._queue: AbstractQueue | None = None
        self._channel: aio_pika.abc.AbstractChannel | None = None
        self._in_flight: set[asyncio.Task[None]] = set()
        self._lag_task: asyncio.Task[None] | None = None

    async def attach(self) -> None:
        """Consume on the broker's current connection; the broker calls this after every
        (re)connection, so consuming resumes by itself after an outage."""
        assert self.broker.connection is not None
        # A channel of its own, so its prefetch does not limit other subscriptions.
        channel = await self.broker.connection.channel()
        await channel.set_qos(prefetch_count=self.sub.prefetch)
        queue = await channel.get_queue(self.broker.queue_name(self.sub.name), ensure=False)
        self._tag = await queue.consume(self._on_message)
        self._channel, self._queue = channel, queue
        if self._lag_task is None:
            self._lag_task = asyncio.create_task(self._watch_lag())

    async def _watch_lag(self, interval: float = 15.0) -> None:
        """Messages waiting in the queue, for the consumer-lag metric (and autoscaling on it)."""
        name = self.broker.queue_name(self.sub.name)
        gauge = self.metrics.consumer_lag(queue=self.sub.name)
        while True:
            try:
                assert self._channel is not None
                declared = await self._channel.declare_queue(name, passive=True)
                gauge.set(declared.declaration_result.message_count or 0)
            except (*BROKER_ERRORS, AssertionError):
                pass  # the broker is reconnecting; the next round will tell
            await asyncio.sleep(interval)

    async def stop(self, grace: float = 10.0) -> None:
        """Stop taking messages, let those in hand finish, then close: unacked ones are requeued."""
        if self._lag_task is not None:
            self._lag_task.cancel()
        if self._queue is not None and self._tag is not None:
            # Bounded: while the broker is unreachable a cancel can wait for it, and a service
            # must still be able to stop (its unacked messages are requeued).
            with contextlib.suppress(*BROKER_ERRORS):
                await asyncio.wait_for(self._queue.cancel(self._tag), CANCEL_TIMEOUT)
        current = asyncio.current_task()
        pending = [t for t in self._in_flight if t is not current]
        if pending:
            await asyncio.wait(pending, timeout=grace)
        if self._channel is not None and not self._channel.is_closed:
            with contextlib.suppress(*BROKER_ERRORS):
                await asyncio.wait_for(self._channel.close(), CANCEL_TIMEOUT)

    async def _on_message(self, message: AbstractIncomingMessage) -> None:
        task = asyncio.current_task()
        if task is not None:
            self._in_flight.add(task)
        token = event_id_var.set(message.message_id)
        started = time.perf_counter()
        try:
            await self._handle(message)
        finally:
            self.metrics.event_handling_latency(queue=self.sub.name).observe(
                time.perf_counter() - started
            )
            event_id_var.reset(token)
            if task is not None:
                self._in_flight.discard(task)

    async def _handle(self, message: AbstractIncomingMessage) -> None:
        counted = self.metrics.events_consumed
        try:
            event = decode_event(message.body)
            handler = self.sub.handlers.get(event.type)
            if handler is None:
                raise PermanentFailure(f"no handler for {event.type}")
        except (MalformedEvent, PermanentFailure) as exc:
            log.error("event rejected to dead letters", extra={"reason": str(exc)})
            counted(queue=self.sub.name, type=message.type or "unknown",
                    outcome="dead_lettered").inc()
            await settle(message.reject(requeue=False))
            return
        event_id_var.set(event.id)
        try:
            await handler(event)
        except PermanentFailure as exc:
            log.error("event failed for good, dead-lettered",
                      extra={"event_type": event.type, "reason": str(exc)})
            counted(queue=self.sub.name, type=event.type, outcome="dead_lettered").inc()
            await settle(message.reject(requeue=False))
            return
        except Exception:
            log.exception("event handling failed, will be redelivered",
                          extra={"event_type": event.type})
            counted(queue=self.sub.name, type=event.type, outcome="retried").inc()
            # A pause, so a failing dependency is not hammered in a tight redelivery loop;
            # the queue's delivery limit dead-letters the event after enough tries.
            await asyncio.sleep(self.sub.retry_delay)
            await settle(message.nack(requeue=True))
            return
        counted(queue=self.sub.name, type=event.type, outcome="handled").inc()
        await settle(message.ack())
