"""create_app: the notifier's web app (operational routes), database, senders, consumers, alert worker."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Callable
from pathlib import Path

import aiohttp
from aiohttp import web

from services.common import db
from services.common.web import DB, METRICS, SHUTTING_DOWN, base_app, broker_context, database_context
from services.notifier import delivery, events, openapi, routes
from services.notifier.alert_worker import ALERT_WORKER, AlertWorker
from services.notifier.config import SETTINGS, Settings
from services.notifier.metrics import NOTIFIER_METRICS, NotifierMetrics

log = logging.getLogger(__name__)

SERVICE_DIR = Path(__file__).parent


def create_app(settings: Settings) -> web.Application:
    app = base_app(settings.common, openapi.document())
    app[SETTINGS] = settings
    app[NOTIFIER_METRICS] = NotifierMetrics(app[METRICS].registry)
    app.cleanup_ctx.append(database_context(SERVICE_DIR))
    app.cleanup_ctx.append(delivery_context(settings))
    app.cleanup_ctx.append(alert_worker_context(settings))
    # Last, so that on shutdown the consumers stop before the senders and the pool they use.
    app.cleanup_ctx.append(broker_context(events.subscriptions(app), relay=False))
    routes.setup_routes(app)
    return app


def delivery_context(settings: Settings) -> Callable[[web.Application], AsyncIterator[None]]:
    """An HTTP session for the SMS gateway; the deliverer of codes, with senders and a database pool
    of its own (alert work never takes the connections a code needs); the senders of alerts."""

    async def context(app: web.Application) -> AsyncIterator[None]:
        async with aiohttp.ClientSession() as session:
            otp_pool = await db.create_pool(settings.common.database_url, 1, settings.otp_db_pool_max)
            senders = delivery.build_senders(settings, session)
            alert_senders = delivery.build_senders(settings, session)
            try:
                app[delivery.DELIVERER] = delivery.Deliverer(
                    otp_pool, senders, settings.retry, app[NOTIFIER_METRICS], app[SHUTTING_DOWN]
                )
                app[delivery.ALERT_SENDERS] = alert_senders
                for channel, sender in senders.items():
                    where = {"directory": str(settings.dev_outbox_dir.resolve())} \
                        if sender.transport == "dev_outbox" else {}
                    log.info("channel ready", extra={"channel": channel, "transport": sender.transport,
                                                     **where})
                yield
            finally:
                for sender in (*senders.values(), *alert_senders.values()):
                    await sender.close()
                await otp_pool.close()

    return context


def alert_worker_context(settings: Settings) -> Callable[[web.Application], AsyncIterator[None]]:
    """The loop that sends due message alerts, with a deliverer of its own: alerts retry on a slower
    schedule than codes, and never hold a code back."""

    async def context(app: web.Application) -> AsyncIterator[None]:
        deliverer = delivery.Deliverer(app[DB], app[delivery.ALERT_SENDERS], settings.alerts.retry,
                                       app[NOTIFIER_METRICS], app[SHUTTING_DOWN])
        worker = AlertWorker(app[DB], deliverer, settings.alerts, settings.common.public_url,
                             app[NOTIFIER_METRICS])
        app[ALERT_WORKER] = worker
        worker.start()
        yield
        await worker.stop(settings.common.shutdown_grace_seconds)

    return context
