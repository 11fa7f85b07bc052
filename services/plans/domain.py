"""Plans' rules, with no I/O: who may do what, removal rules, times, cursors and answer views."""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any

from services.common.events import (
    InvalidEvent,
    iso,
)

OWNER, COORDINATOR, PARTICIPANT = "owner", "coordinator", "participant"
STATUSES = ("not_started", "in_progress", "completed", "cancelled")
# The plan's owner can see who has looked at it; its coordinators too.
ACCESS_LOG_READERS = (OWNER, COORDINATOR)

# Sort keys before the first row and after the last one: a first page is then just a page
# "after" one of these, and every page query is the same index range scan.
MIN_TIME = datetime.min.replace(tzinfo=UTC)
MAX_TIME = datetime.max.replace(tzinfo=UTC)
MIN_ID = uuid.UUID(int=0)
MAX_ID = uuid.UUID(int=2**128 - 1)
MAX_SERIAL = 2**63 - 1


# --- who may do what --------------------------------------------------------------------------

def can_manage(role: str) -> bool:
    """Coordinators manage participants, goals, activities, calendar events and assessments."""
    return role == COORDINATOR


def can_read_access_log(role: str) -> bool:
    return role in ACCESS_LOG_READERS


def removal_problem(target_role: str, coordinators: int) -> str | None:
    """Why this participant cannot be removed, or None when they can."""
    if target_role == OWNER:
        return "The plan's owner cannot be removed from it."
    if target_role == COORDINATOR and coordinators <= 1:
        return "A plan needs a coordinator: add another before removing the last one."
    return None


# --- access log -------------------------------------------------------------------------------

READ = "read"


def goal_comments_resource(goal_id: uuid.UUID) -> str:
    return f"goals/{goal_id}/comments"


def activity_comments_resource(activity_id: uuid.UUID) -> str:
    return f"activities/{activity_id}/comments"


# --- times and cursors ------------------------------------------------------------------------

def parse_rfc3339(text: str) -> datetime:
    """An RFC 3339 date-time with an offset (or Z), in UTC."""
    try:
        parsed = datetime.fromisoformat(text)
    except ValueError:
        raise ValueError("must be an RFC 3339 date-time, like 2025-03-01T09:00:00Z") from None
    if parsed.tzinfo is None:
        raise ValueError("must include a time zone offset or Z")
    try:
        return parsed.astimezone(UTC)
    except OverflowError:
        raise ValueError("is out of range") from None


def parse_date(text: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise ValueError("must be a date like 2025-03-01") from None


def time_id_key(when: datetime, row_id: uuid.UUID | int) -> list[Any]:
    """A cursor's sort key: a time and the id that breaks ties."""
    return [iso(when), row_id if isinstance(row_id, int) else str(row_id)]


def parse_time_id_key(values: Sequence[Any], serial: bool = False) -> tuple[datetime, Any]:
    """The (time, id) a cursor carries; ValueError when it was not made by time_id_key."""
    when, row_id = values
    if not isinstance(when, str):
        raise ValueError("time is not a string")
    if serial:
        if not isinstance(row_id, int) or isinstance(row_id, bool) or not 0 <= row_id <= MAX_SERIAL:
            raise ValueError("id is not a serial")
        return parse_rfc3339(when), row_id
    if not isinstance(row_id, str):
        raise ValueError("id is not a string")
    return parse_rfc3339(when), uuid.UUID(row_id)


# --- views ------------------------------------------------------------------------------------

def card(user_id: uuid.UUID | None, display_name: str | None) -> dict[str, Any] | None:
    if user_id is None:
        return None
    return {"id": str(user_id), "display_name": display_name}


def plan_view(plan: Mapping[str, Any], owner: Mapping[str, Any], coordinator: Mapping[str, Any]
              ) -> dict[str, Any]:
    return {
        "id": str(plan["id"]),
        "title": plan["title"],
        "owner": card(owner["id"], owner["display_name"]),
        "coordinator": card(coordinator["id"], coordinator["display_name"]),
        "created_at": iso(plan["created_at"]),
    }


def plan_summary_view(row: Mapping[str, Any]) -> dict[str, Any]:
    return {
        "id": str(row["id"]),
        "title": row["title"],
        "owner": card(row["owner_id"], row["owner_name"]),
        "my_role": row["my_role"],
    }


def home_view(rows: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    """The home page from its rows: the plan's columns on each, one upcoming event per row."""
    first = rows[0]
    return {
        "id": str(first["id"]),
        "title": first["title"],
        "owner": card(first["owner_id"], first["owner_name"]),
        "coordinator": card(first["coordinator_id"], first["coordinator_name"]),
        "my_role": first["my_role"],
        "upcoming_events": [event_view(row, "event_") for row in rows if row["event_id"] is not None],
    }


def participant_view(row: Mapping[str, Any]) -> dict[str, Any]:
    return {
        "user_id": str(row["user_id"]),
        "display_name": row["display_name"],
        "role": row["role"],
        "email": row["email"],
        "phone": row["phone"],
    }


def goal_view(row: Mapping[str, Any]) -> dict[str, Any]:
    """A goal; its activities come from PostgreSQL as JSON objects already in answer shape."""
    return {
        "id": str(row["id"]),
        "title": row["title"],
        "description": row["description"],
        "status": row["status"],
        "activities": list(row["activities"] or []),
    }


def activity_view(row: Mapping[str, Any]) -> dict[str, Any]:
    return {
        "id": str(row["id"]),
        "goal_id": str(row["goal_id"]),
        "title": row["title"],
        "description": row["description"],
        "due_date": row["due_date"].isoformat() if row["due_date"] else None,
        "responsible": card(row["responsible_id"], row["responsible_name"]),
        "status": row["status"],
    }


def comment_view(row: Mapping[str, Any]) -> dict[str, Any]:
    return {
        "id": str(row["id"]),
        "author": card(row["author_id"], row["author_name"]),
        "created_at": iso(row["created_at"]),
        "text": row["text"],
        "status": row["status"],
    }


def event_view(row: Mapping[str, Any], prefix: str = "") -> dict[str, Any]:
    return {
        "id": str(row[prefix + "id"]),
        "title": row[prefix + "title"],
        "starts_at": iso(row[prefix + "starts_at"]),
        "ends_at": iso(row[prefix + "ends_at"]),
        "location": row[prefix + "location"],
        "description": row[prefix + "description"],
    }


def assessment_view(row: Mapping[str, Any]) -> dict[str, Any]:
    return {
        "id": str(row["id"]),
        "title": row["title"],
        "text": row["text"],
        "author": card(row["author_id"], row["author_name"]),
        "created_at": iso(row["created_at"]),
    }


def access_entry_view(row: Mapping[str, Any]) -> dict[str, Any]:
    return {
        "user": card(row["user_id"], row["display_name"]),
        "action": row["action"],
        "resource": row["resource"],
        "at": iso(row["at"]),
    }


# --- the user projection ----------------------------------------------------------------------

@dataclass(frozen=True)
class UserCopy:
    user_id: uuid.UUID
    display_name: str
    email: str | None
    phone: str | None


def parse_user(data: Mapping[str, Any]) -> UserCopy:
    """The fields of user.created / user.updated that plans keeps."""
    try:
        user_id = uuid.UUID(str(data["user_id"]))
    except (KeyError, ValueError):
        raise InvalidEvent("user_id missing or not a UUID") from None
    name = data.get("display_name")
    if not isinstance(name, str) or not name.strip():
        raise InvalidEvent("display_name missing")
    email, phone = data.get("email"), data.get("phone")
    if not all(value is None or isinstance(value, str) for value in (email, phone)):
        raise InvalidEvent("email or phone is not a string")
    return UserCopy(user_id, _clean(name), _clean(email), _clean(phone))


def _clean(value: str | None) -> str | None:
    return None if value is None else value.replace("\x00", "")


def parse_occurred_at(text: str) -> datetime:
    try:
        return parse_rfc3339(text)
    except ValueError:
        raise InvalidEvent("occurred_at is not an RFC 3339 time") from None
