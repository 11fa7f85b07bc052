"""The auth app's own resources, as typed application keys."""

from __future__ import annotations

from aiohttp import web

from services.auth.config import Settings
from services.auth.keys import KeyRing
from services.auth.passwords import Passwords

SETTINGS = web.AppKey("auth_settings", Settings)
PASSWORDS = web.AppKey("passwords", Passwords)
KEYRING = web.AppKey("keyring", KeyRing)
