"""RabbitMQ: one connection per process, kept up by a supervisor; the topic exchange; publishing
with confirms. After every (re)connection the supervisor runs the service's `on_connect` steps
(declare queues, attach consumers), so consuming resumes by itself after a broker outage."""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections.abc import Awaitable, Callable

import aio_pika
from aio_pika.abc import AbstractChannel, AbstractConnection, AbstractExchange, ExchangeType

from services.common.events import Event

log = logging.getLogger(__name__)

BROKER_ERRORS = (OSError, TimeoutError, aio_pika.exceptions.AMQPError, RuntimeError)
OnConnect = Callable[[], Awaitable[None]]


class BrokerUnavailable(RuntimeError):
    """The broker cannot be reached now; whatever was to be sent waits and is tried again."""


class Broker:
    def __init__(self, url: str, exchange_name: str, queue_prefix: str = "") -> None:
        self.url = url
        self.exchange_name = exchange_name
        self.queue_prefix = queue_prefix
        self.connection: AbstractConnection | None = None
        self.channel: AbstractChannel | None = None
        self.exchange: AbstractExchange | None = None
        self.connected = asyncio.Event()
        self._on_connect: list[OnConnect] = []
        self._supervisor: asyncio.Task[None] | None = None

    def queue_name(self, name: str) -> str:
        return f"{self.queue_prefix}{name}"

    def on_connect(self, step: OnConnect) -> None:
        """Run `step` after every (re)connection, once the exchange is declared."""
        self._on_connect.append(step)

    @property
    def ready(self) -> bool:
        return (self.connected.is_set() and self.connection is not None
                and not self.connection.is_closed
                and self.channel is not None and not self.channel.is_closed)

    def start(self) -> None:
        self._supervisor = asyncio.create_task(self._stay_connected())

    async def wait_connected(self, timeout: float | None = None) -> None:
        await asyncio.wait_for(self.connected.wait(), timeout)

    async def _stay_connected(self) -> None:
        delay = 0.2
        while True:
            try:
                lost = await self._connect()
                delay = 0.2
                await lost
                log.warning("broker connection lost, reconnecting")
            except BROKER_ERRORS as exc:
                log.warning("broker unreachable, retrying", extra={"error": type(exc).__name__})
            finally:
                self.connected.clear()
                await self._drop_connection()
            await asyncio.sleep(delay)
            delay = min(delay * 2, 5.0)

    async def _connect(self) -> asyncio.Future[None]:
        """Connect, declare the exchange, run the on-connect steps; a future that completes
        when the connection closes."""
        connection = await aio_pika.connect(self.url, timeout=5)
        self.connection = connection
        lost: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        connection.close_callbacks.add(lambda *_: lost.done() or lost.set_result(None))
        self.channel = await connection.channel(publisher_confirms=True, on_return_raises=True)
        self.exchange = await self.channel.declare_exchange(
            self.exchange_name, ExchangeType.TOPIC, durable=True)
        for step in self._on_connect:
            await step()
        self.connected.set()
        return lost

    async def _drop_connection(self) -> None:
        connection, self.connection, self.channel, self.exchange = self.connection, None, None, None
        if connection is not None and not connection.is_closed:
            with contextlib.suppress(*BROKER_ERRORS):
                await asyncio.wait_for(connection.close(), 2)

    async def publish(self, event: Event, timeout: float = 5.0) -> None:
        """Publish one event and wait for the broker's confirm (raises if it is not confirmed)."""
        exchange = self.exchange
        if exchange is None or not self.ready:
            raise BrokerUnavailable("not connected")
        message = aio_pika.Message(
            json.dumps(event.to_json()).encode(),
            message_id=event.id,
            type=event.type,
            content_type="application/json",
            delivery_mode=aio_pika.DeliveryMode.PERSISTENT,
        )
        async with asyncio.timeout(timeout):
            await exchange.publish(message, routing_key=event.type, mandatory=True, timeout=timeout)

    async def close(self) -> None:
        if self._supervisor is not None:
            self._supervisor.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._supervisor
        self.connected.clear()
        await self._drop_connection()
