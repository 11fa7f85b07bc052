"""The transactional outbox: events stored with the change, relayed to RabbitMQ with confirms."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from typing import Any

import asyncpg

from services.common.broker import Broker
from services.common.events import Event, new_event
from services.common.logging import event_id_var
from services.common.metrics import Metrics
from services.common.waiting import wait_for_event

log = logging.getLogger(__name__)

INSERT_OUTBOX = "insert into outbox (event_id, type, payload) values ($1, $2, $3)"


async def add_event(conn: asyncpg.Connection, type_: str, data: dict[str, Any]) -> Event:
    """Store an event in the caller's transaction; the relay sends it once that commits."""
    event = new_event(type_, data)
    await conn.execute(INSERT_OUTBOX, event.id, event.type, event.to_json())
    return event


class OutboxRelay:
    """Publishes outbox rows in order, woken by the process that wrote them or at each poll.
    Rows are locked with SKIP LOCKED, so any number of
    replicas can relay at once without sending a row twice; a row is deleted only after the
    broker has confirmed it, so an outage or a crash leaves it to be sent later."""

    def __init__(
        self,
        pool: asyncpg.Pool,
        broker: Broker,
        metrics: Metrics,
        batch_size: int = 200,
        poll_interval: float = 1.0,
    ) -> None:
        self.pool = pool
        self.broker = broker
        self.metrics = metrics
        self.batch_size = batch_size
        self.poll_interval = poll_interval
        self._wakeup = asyncio.Event()
        self._stopping = False
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        self._task = asyncio.create_task(self.run())

    async def stop(self, grace: float = 5.0) -> None:
        """Finish the batch in hand (so a confirmed batch is also removed and not sent again by
        another replica), then stop; cut short only after `grace` seconds."""
        if self._task is not None:
            self._stopping = True
            self._wakeup.set()
            with contextlib.suppress(TimeoutError, asyncio.CancelledError):
                await asyncio.wait_for(asyncio.shield(self._task), grace)
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task

    def wake(self) -> None:
        """Something was just committed to the outbox: relay it now rather than at the next poll."""
        self._wakeup.set()

    async def run(self) -> None:
        delay = 0.1
        while not self._stopping:
            try:
                sent = await self.relay_batch()
                delay = 0.1
                if sent == self.batch_size:
                    continue
                await self._record_backlog()
                await self._wait_for_work()
            except (OSError, asyncpg.PostgresError, asyncpg.InterfaceError) as exc:
                log.warning("outbox relay waiting for the database",
                            extra={"error": type(exc).__name__})
                await asyncio.sleep(delay)
                delay = min(delay * 2, 5.0)

    async def _wait_for_work(self) -> None:
        await wait_for_event(self._wakeup, self.poll_interval)
        self._wakeup.clear()

    async def relay_batch(self) -> int:
        """Publish one batch; return how many rows were sent and removed."""
        async with self.pool.acquire() as conn, conn.transaction():
            rows = await conn.fetch(
                "select id, payload from outbox order by id limit $1 for update skip locked",
                self.batch_size,
            )
            if not rows:
                return 0
            results = await asyncio.gather(
                *(self._publish(row["payload"]) for row in rows), return_exceptions=True
            )
            sent = [row["id"] for row, result in zip(rows, results, strict=True) if result is None]
            if sent:
                await self._forget(conn, sent)
        if len(sent) < len(rows):
            # The broker is down or refused some: those rows stay; back off before trying again.
            await asyncio.sleep(min(self.poll_interval, 1.0))
        return len(sent)

    async def _forget(self, conn: asyncpg.Connection, sent: list[int]) -> None:
        """Remove confirmed rows. A crash before this commits sends them again: consumers
        ignore event ids they have already processed, so that is harmless."""
        await conn.execute("delete from outbox where id = any($1::bigint[])", sent)

    async def _publish(self, payload: dict[str, Any]) -> None:
        event = Event(payload["id"], payload["type"], payload["occurred_at"], payload["data"])
        token = event_id_var.set(event.id)
        try:
            await self.broker.publish(event)
            self.metrics.events_published(type=event.type).inc()
        except Exception as exc:
            log.warning("event not published, will retry",
                        extra={"event_type": event.type, "error": type(exc).__name__})
            raise
        finally:
            event_id_var.reset(token)

    async def _record_backlog(self) -> None:
        row = await self.pool.fetchrow(
            "select count(*) as n,"
            " coalesce(extract(epoch from now() - min(created_at)), 0) as age from outbox"
        )
        self.metrics.outbox_backlog.set(row["n"])
        self.metrics.outbox_oldest_age.set(float(row["age"]))
