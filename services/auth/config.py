"""The auth service's settings, read once from the environment."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass

from services.common.config import CommonSettings, env_int


@dataclass(frozen=True)
class Settings:
    common: CommonSettings
    otp_ttl_seconds: int = 300
    otp_max_attempts: int = 5
    otp_max_resends: int = 3
    otp_resend_interval_seconds: int = 30
    access_token_ttl_seconds: int = 900
    refresh_token_ttl_seconds: int = 30 * 24 * 3600
    login_max_failures: int = 5
    login_max_failures_per_address: int = 100
    login_window_seconds: int = 900
    login_lockout_seconds: int = 300
    trusted_proxy_hops: int = 0
    argon2_time_cost: int = 3
    argon2_memory_kib: int = 65536
    argon2_parallelism: int = 4
    key_refresh_seconds: int = 30

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> Settings:
        env = os.environ if env is None else env
        return cls(
            common=CommonSettings.from_env("auth", env),
            otp_ttl_seconds=env_int(env, "OTP_TTL_SECONDS", 300),
            otp_max_attempts=env_int(env, "OTP_MAX_ATTEMPTS", 5),
            otp_max_resends=env_int(env, "OTP_MAX_RESENDS", 3),
            otp_resend_interval_seconds=env_int(env, "OTP_RESEND_INTERVAL_SECONDS", 30),
            access_token_ttl_seconds=env_int(env, "ACCESS_TOKEN_TTL_SECONDS", 900),
            refresh_token_ttl_seconds=env_int(env, "REFRESH_TOKEN_TTL_SECONDS", 30 * 24 * 3600),
            login_max_failures=env_int(env, "LOGIN_MAX_FAILURES", 5),
            login_max_failures_per_address=env_int(env, "LOGIN_MAX_FAILURES_PER_ADDRESS", 100),
            login_window_seconds=env_int(env, "LOGIN_WINDOW_SECONDS", 900),
            login_lockout_seconds=env_int(env, "LOGIN_LOCKOUT_SECONDS", 300),
            trusted_proxy_hops=env_int(env, "TRUSTED_PROXY_HOPS", 0),
            argon2_time_cost=env_int(env, "ARGON2_TIME_COST", 3),
            argon2_memory_kib=env_int(env, "ARGON2_MEMORY_KIB", 65536),
            argon2_parallelism=env_int(env, "ARGON2_PARALLELISM", 4),
            key_refresh_seconds=env_int(env, "KEY_REFRESH_SECONDS", 30),
        )
