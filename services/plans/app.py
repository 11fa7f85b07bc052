"""create_app for plans: shared plumbing, its database, auth's keys, the user consumer, routes."""

from __future__ import annotations

from pathlib import Path

from aiohttp import web

from services.common.web import base_app, broker_context, database_context, jwks_context
from services.plans import events, routes
from services.plans.config import SETTINGS, Settings
from services.plans.openapi import OPENAPI

SERVICE_DIR = Path(__file__).parent


def create_app(settings: Settings) -> web.Application:
    app = base_app(settings.common, OPENAPI)
    app[SETTINGS] = settings
    app.cleanup_ctx.append(database_context(SERVICE_DIR))
    app.cleanup_ctx.append(jwks_context())
    # Last, so that on shutdown the consumers and the relay stop before the pool they use closes.
    app.cleanup_ctx.append(broker_context(events.subscriptions(app)))
    routes.add_routes(app)
    return app
