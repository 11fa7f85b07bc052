"""RabbitMQ: one robust connection per process, the topic exchange, publishing with confirms."""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging

import aio_pika
from aio_pika.abc import AbstractRobustChannel, AbstractRobustConnection, ExchangeType

from services.common.events import Event

log = logging.getLogger(__name__)


class BrokerUnavailable(RuntimeError):
    """The broker cannot be reached now; whatever was to be sent waits and is tried again."""


class Broker:
    """Connects in the background and keeps reconnecting, so a service starts without RabbitMQ."""

    def __init__(self, url: str, exchange_name: str, queue_prefix: str = "") -> None:
        self.url = url
        self.exchange_name = exchange_name
        self.queue_prefix = queue_prefix
        self.connection: AbstractRobustConnection | None = None
        self.channel: AbstractRobustChannel | None = None
        self.exchange: aio_pika.abc.AbstractExchange | None = None
        self.connected = asyncio.Event()
        self._connect_task: asyncio.Task[None] | None = None

    def queue_name(self, name: str) -> str:
        return f"{self.queue_prefix}{name}"

    @property
    def ready(self) -> bool:
        return (
            self.connection is not None
            and not self.connection.is_closed
            and self.channel is not None
            and not self.channel.is_closed
        )

    def start(self) -> None:
        self._connect_task = asyncio.create_task(self._connect_until_up())

    async def wait_connected(self, timeout: float | None = None) -> None:
        await asyncio.wait_for(self.connected.wait(), timeout)

    async def _connect_until_up(self) -> None:
        delay = 0.2
        while True:
            try:
                await self._connect()
                self.connected.set()
                return
            except (TimeoutError, OSError, aio_pika.exceptions.AMQPError) as exc:
                log.warning("broker unreachable, retrying", extra={"error": type(exc).__name__})
                await asyncio.sleep(delay)
                delay = min(delay * 2, 5.0)

    async def _connect(self) -> None:
        connection = await aio_pika.connect_robust(self.url, timeout=5)
        try:
            channel = await connection.channel(publisher_confirms=True, on_return_raises=True)
            exchange = await channel.declare_exchange(
                self.exchange_name, ExchangeType.TOPIC, durable=True
            )
        except BaseException:
            await connection.close()
            raise
        self.connection, self.channel, self.exchange = connection, channel, exchange

    async def publish(self, event: Event, timeout: float = 5.0) -> None:
        """Publish one event and wait for the broker's confirm (raises if it is not confirmed)."""
        if self.exchange is None or not self.ready:
            raise BrokerUnavailable("not connected")
        message = aio_pika.Message(
            json.dumps(event.to_json()).encode(),
            message_id=event.id,
            type=event.type,
            content_type="application/json",
            delivery_mode=aio_pika.DeliveryMode.PERSISTENT,
        )
        await self.exchange.publish(message, routing_key=event.type, mandatory=True, timeout=timeout)

    async def close(self) -> None:
        if self._connect_task is not None:
            self._connect_task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._connect_task
        if self.connection is not None:
            await self.connection.close()
