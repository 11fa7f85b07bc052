"""create_app for messages: shared plumbing, the database, token checks, events in and out, routes."""

from __future__ import annotations

from pathlib import Path

from aiohttp import web

from services.common.web import base_app, broker_context, database_context, jwks_context
from services.messages import events, routes
from services.messages.config import SETTINGS, Settings
from services.messages.openapi import OPENAPI

SERVICE_DIR = Path(__file__).parent


def create_app(settings: Settings) -> web.Application:
    app = base_app(settings.common, OPENAPI)
    app[SETTINGS] = settings
    app.cleanup_ctx.append(database_context(SERVICE_DIR))
    app.cleanup_ctx.append(jwks_context())
    # Consumers of user.* and plan.* events, and the outbox relay for message.* events.
    app.cleanup_ctx.append(broker_context(events.subscriptions(app)))
    routes.add_routes(app)
    return app
