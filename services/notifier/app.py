"""create_app: the notifier's web app (operational routes), database, senders, consumers, alert worker."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Callable
from pathlib import Path

import aiohttp
from aiohttp import web

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
    """An HTTP session for the SMS gateway, and the deliverer with a sender per channel."""

    async def context(app: web.Application) -> AsyncIterator[None]:
        async with aiohttp.ClientSession() as session:
            senders = delivery.build_senders(settings, session)
            app[delivery.DELIVERER] = delivery.Deliverer(
                app[DB], senders, settings.retry, app[NOTIFIER_METRICS], app[SHUTTING_DOWN]
            )
            for channel, sender in senders.items():
                where = {"directory": str(settings.dev_outbox_dir.resolve())} \
                    if sender.transport == "dev_outbox" else {}
                log.info("channel ready", extra={"channel": channel, "transport": sender.transport, **where})
            yield

    return context


def alert_worker_context(settings: Settings) -> Callable[[web.Application], AsyncIterator[None]]:
    """The loop that sends due message alerts, with a deliverer of its own: alerts retry on a slower
    schedule than codes, and never hold a code back."""

    async def context(app: web.Application) -> AsyncIterator[None]:
        deliverer = delivery.Deliverer(app[DB], app[delivery.DELIVERER].senders, settings.alerts.retry,
                                       app[NOTIFIER_METRICS], app[SHUTTING_DOWN])
        worker = AlertWorker(app[DB], deliverer, settings.alerts, settings.common.public_url,
                             app[NOTIFIER_METRICS])
        app[ALERT_WORKER] = worker
        worker.start()
        yield
        await worker.stop(settings.common.shutdown_grace_seconds)

    return context
