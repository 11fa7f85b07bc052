"""Sending due message alerts: a loop that claims due rows of alert_schedules (safe with any number of
replicas) and hands each alert to the deliverer, if the user still has something unread."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime

import asyncpg
from aiohttp import web

from services.common.events import Event, iso
from services.common.waiting import wait_for_event
from services.notifier import domain, storage
from services.notifier.config import AlertSettings
from services.notifier.delivery import ELSEWHERE, Deliverer, DeliveryInterrupted, Notification
from services.notifier.metrics import NotifierMetrics

log = logging.getLogger(__name__)

EARLY_READS_KEPT_DAYS = 30
PRUNE_INTERVAL = 3600.0
DATABASE_ERRORS = (OSError, asyncpg.PostgresError, asyncpg.InterfaceError)


class AlertWorker:
    def __init__(self, pool: asyncpg.Pool, deliverer: Deliverer, settings: AlertSettings,
                 public_url: str, metrics: NotifierMetrics) -> None:
        self.pool = pool
        self.deliverer = deliverer
        self.settings = settings
        self.public_url = public_url
        self.metrics = metrics
        self._wakeup = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._in_flight: set[asyncio.Task[None]] = set()
        self._pruned_at = float("-inf")

    def start(self) -> None:
        self._task = asyncio.create_task(self.run())

    def wake(self) -> None:
        """Look for due alerts now rather than at the next poll (an alert is due at once)."""
        self._wakeup.set()

    async def stop(self, grace: float) -> None:
        """Stop claiming; alerts being sent end at their next pause (the deliverer sees the service
        stopping) and are released for another replica; those still going after `grace` are cut."""
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        if self._in_flight:
            _, pending = await asyncio.wait(self._in_flight, timeout=grace)
            for task in pending:
                task.cancel()
            await asyncio.gather(*pending, return_exceptions=True)

    async def run(self) -> None:
        delay = self.settings.poll_seconds
        while True:
            try:
                await self.claim_and_send()
                await self._prune_now_and_then()
                delay = self.settings.poll_seconds
            except DATABASE_ERRORS as exc:
                log.warning("alert worker waiting for the database", extra={"error": type(exc).__name__})
                delay = min(delay * 2, 30.0)
            await wait_for_event(self._wakeup, delay)
            self._wakeup.clear()

    async def claim_and_send(self) -> None:
        free = self.settings.concurrency - len(self._in_flight)
        if free <= 0:
            return
        for row in await storage.claim_due_alerts(self.pool, free, self.settings.claim_seconds):
            task = asyncio.create_task(self._handle(row))
            self._in_flight.add(task)
            task.add_done_callback(self._done)

    def _done(self, task: asyncio.Task[None]) -> None:
        self._in_flight.discard(task)
        self.wake()  # room for another

    async def _handle(self, row: asyncpg.Record) -> None:
        user_id, alert_id = row["user_id"], row["alert_id"]
        try:
            outcome = await self._send(row)
        except asyncio.CancelledError:
            await self._release(user_id, alert_id)
            raise
        except DeliveryInterrupted:
            # The service is stopping: another replica (or this one, restarted) takes it over.
            await self._release(user_id, alert_id)
            return
        except Exception:
            log.exception("alert not sent, will be tried again", extra={"alert_id": str(alert_id)})
            await self._release(user_id, alert_id)
            return
        self.metrics.alerts(outcome=outcome).inc()

    async def _send(self, row: asyncpg.Record) -> str:
        """Deliver one claimed alert, if it is still wanted; the outcome."""
        user_id, alert_id = row["user_id"], row["alert_id"]
        message = domain.alert_message(row, self.public_url)
        if not row["has_unread"] or message is None:
            # Read in the meantime (or announced already), or the user chose no channel since.
            await self._finish(user_id, alert_id, alerted=False)
            return "cancelled" if not row["has_unread"] else "no_channel"
        event = Event(str(alert_id), "message.alert", iso(datetime.now(UTC)), {})
        note = Notification(event, "alert", user_id, message, deadline=row["deadline"], claim_event=False)
        async with self._keeping_claim(user_id, alert_id):
            result = await self.deliverer.deliver(note)
        # Elsewhere: another replica took over this delivery and finishes it.
        await self._finish(user_id, alert_id, alerted=result.status in (domain.SENT, ELSEWHERE))
        return result.status

    async def _finish(self, user_id: uuid.UUID, alert_id: uuid.UUID, alerted: bool) -> None:
        next_due = await storage.finish_alert(self.pool, user_id, alert_id, alerted, uuid.uuid4(),
                                              self.settings.window_seconds,
                                              self.settings.retry_horizon_seconds)
        if next_due is not None:
            log.info("another alert scheduled for messages that came in meanwhile",
                     extra={"alert_id": str(alert_id)})

    async def _release(self, user_id: uuid.UUID, alert_id: uuid.UUID) -> None:
        with contextlib.suppress(*DATABASE_ERRORS):
            await storage.release_alert_claim(self.pool, user_id, alert_id)

    @contextlib.asynccontextmanager
    async def _keeping_claim(self, user_id: uuid.UUID, alert_id: uuid.UUID) -> AsyncIterator[None]:
        """Renew the claim while the deliverer retries, so no other replica takes the alert over."""
        async def renew() -> None:
            while True:
                await asyncio.sleep(self.settings.claim_seconds / 3)
                with contextlib.suppress(*DATABASE_ERRORS):
                    await storage.renew_alert_claim(self.pool, user_id, alert_id, self.settings.claim_seconds)

        task = asyncio.create_task(renew())
        try:
            yield
        finally:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task

    async def _prune_now_and_then(self) -> None:
        if time.monotonic() - self._pruned_at >= PRUNE_INTERVAL:
            await storage.prune_early_reads(self.pool, EARLY_READS_KEPT_DAYS)
            self._pruned_at = time.monotonic()


ALERT_WORKER = web.AppKey("alert_worker", AlertWorker)
