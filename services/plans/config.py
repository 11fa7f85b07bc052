"""The plans service's settings, read once from the environment."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass

from aiohttp import web

from services.common.config import CommonSettings, env_int


@dataclass(frozen=True)
class Settings:
    common: CommonSettings
    # How many coming calendar events the home page shows.
    upcoming_events: int = 5

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> Settings:
        env = os.environ if env is None else env
        upcoming = env_int(env, "PLANS_UPCOMING_EVENTS", 5)
        if not 1 <= upcoming <= 50:
            raise ValueError(f"PLANS_UPCOMING_EVENTS must be from 1 to 50, not {upcoming}")
        return cls(common=CommonSettings.from_env("plans", env), upcoming_events=upcoming)


SETTINGS = web.AppKey("plans_settings", Settings)
