"""Reading the contract's environment variables once, at start, into frozen settings."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass

DEFAULT_AMQP_URL = "amqp://guest:guest@127.0.0.1:5672/"


def env_str(env: Mapping[str, str], name: str, default: str) -> str:
    value = env.get(name, "").strip()
    return value or default


def env_int(env: Mapping[str, str], name: str, default: int) -> int:
    raw = env.get(name, "").strip()
    if not raw:
        return default
    try:
        return int(raw)
    except ValueError:
        raise ValueError(f"{name} must be a whole number, not {raw!r}") from None


def env_float(env: Mapping[str, str], name: str, default: float) -> float:
    raw = env.get(name, "").strip()
    if not raw:
        return default
    try:
        return float(raw)
    except ValueError:
        raise ValueError(f"{name} must be a number, not {raw!r}") from None


def env_list(env: Mapping[str, str], name: str) -> tuple[str, ...]:
    return tuple(item.strip() for item in env.get(name, "").split(",") if item.strip())


def default_database_url(service: str) -> str:
    return f"postgresql://postgres@127.0.0.1:5432/samhandling_{service}"


@dataclass(frozen=True)
class CommonSettings:
    """Settings every service has; each service wraps these in its own Settings."""

    service: str
    database_url: str
    port: int
    bind_host: str = "127.0.0.1"
    amqp_url: str = DEFAULT_AMQP_URL
    # Not in the contract: lets tests and shared brokers isolate one deployment's exchange and queues.
    amqp_exchange: str = "samhandling"
    amqp_queue_prefix: str = ""
    auth_url: str = "http://127.0.0.1:8081"
    public_url: str = "http://127.0.0.1:8080"
    cors_allowed_origins: tuple[str, ...] = ()
    token_issuer: str = "samhandling-auth"
    max_body_bytes: int = 64 * 1024
    db_pool_min: int = 2
    db_pool_max: int = 10
    log_level: str = "INFO"
    shutdown_grace_seconds: float = 10.0

    @classmethod
    def from_env(cls, service: str, env: Mapping[str, str] | None = None) -> CommonSettings:
        env = os.environ if env is None else env
        upper = service.upper()
        default_ports = {"auth": 8081, "plans": 8082, "messages": 8083, "notifier": 8084}
        return cls(
            service=service,
            database_url=env_str(env, f"{upper}_DATABASE_URL", default_database_url(service)),
            port=env_int(env, f"{upper}_PORT", default_ports.get(service, 8080)),
            bind_host=env_str(env, "BIND_HOST", "127.0.0.1"),
            amqp_url=env_str(env, "AMQP_URL", DEFAULT_AMQP_URL),
            amqp_exchange=env_str(env, "AMQP_EXCHANGE", "samhandling"),
            amqp_queue_prefix=env.get("AMQP_QUEUE_PREFIX", "").strip(),
            auth_url=env_str(env, "AUTH_URL", "http://127.0.0.1:8081").rstrip("/"),
            public_url=env_str(env, "PUBLIC_URL", "http://127.0.0.1:8080").rstrip("/"),
            cors_allowed_origins=env_list(env, "CORS_ALLOWED_ORIGINS"),
            token_issuer=env_str(env, "TOKEN_ISSUER", "samhandling-auth"),
            max_body_bytes=env_int(env, "MAX_BODY_BYTES", 64 * 1024),
            db_pool_min=env_int(env, "DB_POOL_MIN", 2),
            db_pool_max=env_int(env, "DB_POOL_MAX", 10),
            log_level=env_str(env, "LOG_LEVEL", "INFO").upper(),
            shutdown_grace_seconds=env_float(env, "SHUTDOWN_GRACE_SECONDS", 10.0),
        )
