"""Every path the messages service serves (besides the operational ones every service has)."""

from __future__ import annotations

from aiohttp import web

from services.messages.handlers import reading, sending


def add_routes(app: web.Application) -> None:
    app.router.add_post("/v1/messages", sending.send_message)
    app.router.add_get("/v1/messages", reading.list_messages)
    # Before /{message_id}, which would otherwise take "unread-count" for an id.
    app.router.add_get("/v1/messages/unread-count", reading.unread_count)
    app.router.add_get("/v1/messages/{message_id}", reading.get_message)
    app.router.add_post("/v1/messages/{message_id}/read", reading.mark_read)
