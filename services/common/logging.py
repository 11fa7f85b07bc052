"""Structured JSON logs: one object a line, with the request or event id, and secrets kept out."""

from __future__ import annotations

import contextvars
import json
import logging
import sys
import traceback
from datetime import UTC, datetime
from typing import Any

request_id_var: contextvars.ContextVar[str | None] = contextvars.ContextVar(
    "request_id", default=None
)
event_id_var: contextvars.ContextVar[str | None] = contextvars.ContextVar("event_id", default=None)

# Field names whose values never reach a log line, whatever a caller passes in `extra`.
REDACTED_KEYS = frozenset(
    {
        "password",
        "current_password",
        "new_password",
        "code",
        "token",
        "access_token",
        "refresh_token",
        "authorization",
        "body",
        "text",
        "subject",
        "secret",
    }
)
_STANDARD_ATTRS = set(vars(logging.LogRecord("", 0, "", 0, "", None, None))) | {
    "message",
    "asctime",
    "taskName",
}


def _redact(value: Any, key: str = "") -> Any:
    if key.lower() in REDACTED_KEYS:
        return "[redacted]"
    if isinstance(value, dict):
        return {k: _redact(v, str(k)) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_redact(v) for v in value]
    if isinstance(value, str | int | float | bool) or value is None:
        return value
    return str(value)


class JsonFormatter(logging.Formatter):
    def __init__(self, service: str) -> None:
        super().__init__()
        self.service = service

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "ts": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "service": self.service,
            "logger": record.name,
            "msg": record.getMessage(),
        }
        request_id = request_id_var.get()
        event_id = event_id_var.get()
        if request_id:
            entry["request_id"] = request_id
        if event_id:
            entry["event_id"] = event_id
        for key, value in record.__dict__.items():
            if key not in _STANDARD_ATTRS and not key.startswith("_"):
                entry[key] = _redact(value, key)
        if record.exc_info and record.exc_info[0] is not None:
            # Type and location only: exception messages can quote input, and input can be secret.
            exc_type, _, tb = record.exc_info
            entry["error"] = exc_type.__name__
            entry["stack"] = "".join(traceback.format_tb(tb)[-5:])
        return json.dumps(entry, ensure_ascii=False)


def configure_logging(service: str, level: str = "INFO") -> None:
    """Send every logger's records as JSON lines to stderr."""
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonFormatter(service))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    quiet_client_libraries()


def quiet_client_libraries() -> None:
    """Client libraries log whole frames (event payloads, one-time codes among them) at debug
    level; keep them to warnings whatever LOG_LEVEL says."""
    for noisy in ("aio_pika", "aiormq", "asyncio", "aiohttp.access", "aiosmtplib", "mail.log"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
