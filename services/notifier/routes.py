"""The notifier's HTTP paths: the operational ones come from base_app; /v1/notifications is reserved."""

from __future__ import annotations

from aiohttp import web

API_PREFIX = "/v1/notifications"


def setup_routes(app: web.Application) -> None:
    """Nothing under API_PREFIX yet; message-alert preferences may land here in a later issue."""
