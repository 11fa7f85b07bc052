"""The event envelope of the contract: {"id", "type", "occurred_at", "data"}."""

from __future__ import annotations

import json
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any


@dataclass(frozen=True)
class Event:
    id: str
    type: str
    occurred_at: str
    data: dict[str, Any]

    def to_json(self) -> dict[str, Any]:
        return {"id": self.id, "type": self.type, "occurred_at": self.occurred_at, "data": self.data}


class MalformedEvent(ValueError):
    """A body that is not an event envelope: retrying cannot help, it goes to the dead letters."""


class InvalidEvent(ValueError):
    """Event data that can never be handled; the message names the field, never its value."""


def parse_time(value: Any, name: str = "occurred_at") -> datetime:
    """An RFC 3339 time with an offset; a time without one is refused rather than guessed."""
    if not isinstance(value, str):
        raise InvalidEvent(f"{name} must be an RFC 3339 time")
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        raise InvalidEvent(f"{name} must be an RFC 3339 time") from None
    if parsed.tzinfo is None:
        raise InvalidEvent(f"{name} must carry a time zone offset")
    return parsed


def parse_uuid(data: Mapping[str, Any], name: str) -> uuid.UUID:
    try:
        return uuid.UUID(str(data[name]))
    except (KeyError, ValueError):
        raise InvalidEvent(f"{name} must be a UUID") from None


def new_event(type_: str, data: dict[str, Any], occurred_at: datetime | None = None) -> Event:
    when = occurred_at or datetime.now(UTC)
    return Event(str(uuid.uuid4()), type_, iso(when), data)


def iso(when: datetime) -> str:
    """RFC 3339 in UTC with a Z, as the contract writes times."""
    if when.tzinfo is not UTC:  # what asyncpg gives is UTC already
        when = when.astimezone(UTC)
    return when.isoformat().replace("+00:00", "Z")


def decode_event(body: bytes) -> Event:
    try:
        raw = json.loads(body)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise MalformedEvent("body is not JSON") from exc
    if not isinstance(raw, dict):
        raise MalformedEvent("body is not an object")
    try:
        event_id = str(uuid.UUID(str(raw["id"])))
        type_ = raw["type"]
        occurred_at = raw["occurred_at"]
        data = raw["data"]
    except (KeyError, ValueError) as exc:
        raise MalformedEvent("envelope field missing or invalid") from exc
    if not isinstance(type_, str) or not isinstance(occurred_at, str) or not isinstance(data, dict):
        raise MalformedEvent("envelope field of the wrong type")
    return Event(event_id, type_, occurred_at, data)
