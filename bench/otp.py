"""One-time codes read from the otp.requested events on the bench's exchange (a queue of our own)."""

from __future__ import annotations

import asyncio
import json

import aio_pika
from aio_pika.abc import AbstractIncomingMessage, ExchangeType


class OtpListener:
    """Binds an exclusive queue to otp.requested; `await code(challenge_id)` once the event came."""

    def __init__(self, amqp_url: str, exchange: str) -> None:
        self.amqp_url = amqp_url
        self.exchange = exchange
        self._codes: dict[str, str] = {}
        self._waiting: dict[str, asyncio.Future[str]] = {}
        self._connection: aio_pika.abc.AbstractConnection | None = None

    async def start(self) -> None:
        self._connection = await aio_pika.connect(self.amqp_url)
        channel = await self._connection.channel()
        exchange = await channel.declare_exchange(self.exchange, ExchangeType.TOPIC, durable=True)
        queue = await channel.declare_queue(exclusive=True, auto_delete=True)
        await queue.bind(exchange, routing_key="otp.requested")
        await queue.consume(self._on_message, no_ack=True)

    async def _on_message(self, message: AbstractIncomingMessage) -> None:
        data = json.loads(message.body)["data"]
        challenge_id, code = data["challenge_id"], data["code"]
        waiting = self._waiting.pop(challenge_id, None)
        if waiting is not None and not waiting.done():
            waiting.set_result(code)
        else:
            self._codes[challenge_id] = code

    async def code(self, challenge_id: str, timeout: float = 30.0) -> str:
        if challenge_id in self._codes:
            return self._codes.pop(challenge_id)
        future = self._waiting[challenge_id] = asyncio.get_running_loop().create_future()
        try:
            return await asyncio.wait_for(future, timeout)
        finally:
            self._waiting.pop(challenge_id, None)

    async def close(self) -> None:
        if self._connection is not None:
            await self._connection.close()
