"""The notifier's settings: the common ones plus mail, SMS gateway, dev outbox, retry timing, alerts."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from aiohttp import web

from services.common.config import CommonSettings, env_float, env_int, env_str
from services.notifier.domain import RetryPolicy

SMTP_SECURITY_PORTS = {"none": 25, "starttls": 587, "tls": 465}
DEFAULT_MAIL_FROM = "Samhandling <no-reply@samhandling.local>"


@dataclass(frozen=True)
class SmtpSettings:
    host: str
    port: int
    security: str
    username: str | None
    password: str | None = None

    def __repr__(self) -> str:  # keeps the password out of any repr that reaches a log or a traceback
        return f"SmtpSettings(host={self.host!r}, port={self.port}, security={self.security!r})"


@dataclass(frozen=True)
class SmsSettings:
    url: str
    token: str | None = None

    def __repr__(self) -> str:
        return f"SmsSettings(url={self.url!r})"


@dataclass(frozen=True)
class AlertSettings:
    """Message alerts: coalescing window, how long to keep trying, how often to look for due ones."""

    window_seconds: float = 900.0
    retry_horizon_seconds: float = 24 * 3600.0
    poll_seconds: float = 1.0
    # Slower than for codes: an alert can wait, and a long outage should not fill the delivery log.
    retry: RetryPolicy = field(default_factory=lambda: RetryPolicy(initial=1.0, maximum=300.0))
    concurrency: int = 16
    # How long an alert claimed by a replica that then died waits before another takes it over.
    claim_seconds: float = 60.0


@dataclass(frozen=True)
class Settings:
    common: CommonSettings
    smtp: SmtpSettings | None  # None: e-mails go to the dev outbox
    sms: SmsSettings | None  # None: SMS go to the dev outbox
    mail_from: str
    smtp_timeout: float
    sms_timeout: float
    dev_outbox_dir: Path
    retry: RetryPolicy
    timezone: str
    alerts: AlertSettings = field(default_factory=AlertSettings)
    # Connections to the mail server kept open between messages, by each of the two senders (codes,
    # alerts); 0: a connection per message.
    smtp_connections: int = 4
    # The database connections of code deliveries: their own, so that alert work never holds a code up.
    otp_db_pool_max: int = 3

    def __post_init__(self) -> None:
        if self.smtp_connections < 0:
            raise ValueError(f"SMTP_CONNECTIONS must be 0 or more, not {self.smtp_connections}")
        if self.otp_db_pool_max < 1:
            raise ValueError(f"OTP_DB_POOL_MAX must be 1 or more, not {self.otp_db_pool_max}")

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> Settings:
        env = os.environ if env is None else env
        return cls(
            common=CommonSettings.from_env("notifier", env),
            smtp=smtp_from_env(env),
            sms=sms_from_env(env),
            mail_from=env_str(env, "MAIL_FROM", DEFAULT_MAIL_FROM),
            smtp_timeout=positive(env, "SMTP_TIMEOUT_SECONDS", 10.0),
            sms_timeout=positive(env, "SMS_TIMEOUT_SECONDS", 10.0),
            dev_outbox_dir=Path(env_str(env, "DEV_OUTBOX_DIR", "var/outbox")),
            retry=RetryPolicy(
                initial=positive(env, "DELIVERY_RETRY_INITIAL_SECONDS", 0.2),
                maximum=positive(env, "DELIVERY_RETRY_MAX_SECONDS", 5.0),
            ),
            timezone=timezone_from_env(env),
            alerts=alerts_from_env(env),
            smtp_connections=env_int(env, "SMTP_CONNECTIONS", 4),
            otp_db_pool_max=env_int(env, "OTP_DB_POOL_MAX", 3),
        )


def alerts_from_env(env: Mapping[str, str]) -> AlertSettings:
    window = env_float(env, "ALERT_WINDOW_SECONDS", 900.0)
    if window < 0:
        raise ValueError(f"ALERT_WINDOW_SECONDS must be 0 or more, not {window}")
    return AlertSettings(
        window_seconds=window,
        retry_horizon_seconds=positive(env, "ALERT_RETRY_HORIZON_SECONDS", 24 * 3600.0),
        poll_seconds=positive(env, "ALERT_POLL_SECONDS", 1.0),
        claim_seconds=positive(env, "ALERT_CLAIM_SECONDS", 60.0),
        retry=RetryPolicy(
            initial=positive(env, "ALERT_RETRY_INITIAL_SECONDS", 1.0),
            maximum=positive(env, "ALERT_RETRY_MAX_SECONDS", 300.0),
        ),
    )


def smtp_from_env(env: Mapping[str, str]) -> SmtpSettings | None:
    host = env_str(env, "SMTP_HOST", "")
    if not host:
        return None
    security = env_str(env, "SMTP_SECURITY", "none").lower()
    if security not in SMTP_SECURITY_PORTS:
        raise ValueError(f"SMTP_SECURITY must be one of none, starttls, tls, not {security!r}")
    return SmtpSettings(
        host=host,
        port=env_int(env, "SMTP_PORT", SMTP_SECURITY_PORTS[security]),
        security=security,
        username=env_str(env, "SMTP_USERNAME", "") or None,
        password=env.get("SMTP_PASSWORD") or None,
    )


def sms_from_env(env: Mapping[str, str]) -> SmsSettings | None:
    url = env_str(env, "SMS_GATEWAY_URL", "")
    if not url:
        return None
    return SmsSettings(url=url, token=env_str(env, "SMS_GATEWAY_TOKEN", "") or None)


def positive(env: Mapping[str, str], name: str, default: float) -> float:
    value = env_float(env, name, default)
    if value <= 0:
        raise ValueError(f"{name} must be more than 0, not {value}")
    return value


def timezone_from_env(env: Mapping[str, str]) -> str:
    """The zone the expiry time in a message is written in; checked now rather than at first send."""
    name = env_str(env, "NOTIFIER_TIMEZONE", "Europe/Oslo")
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError(
            f"NOTIFIER_TIMEZONE {name!r} is not a known time zone (is tzdata installed?)"
        ) from None
    return name


SETTINGS = web.AppKey("notifier_settings", Settings)
