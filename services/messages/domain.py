"""Messages' rules, with no I/O: recipients, what each viewer sees, cursors, incoming event data."""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from services.common.events import InvalidEvent, iso, parse_time, parse_uuid  # noqa: F401 (re-exported)

FOLDERS = ("inbox", "sent")
ROLES = ("owner", "coordinator", "participant")


# --- sending ---------------------------------------------------------------------------------------

def unique_recipients(recipient_ids: Iterable[uuid.UUID]) -> list[uuid.UUID]:
    """The recipients in the order given, each once: a repeated id is collapsed, not refused."""
    return list(dict.fromkeys(recipient_ids))


def recipients_problem(sender_id: uuid.UUID, recipient_ids: Sequence[uuid.UUID]) -> str | None:
    """Why these recipients cannot be sent to, before anything is looked up; None when they can."""
    if sender_id in recipient_ids:
        return "must not include yourself"
    return None


def message_created_data(message_id: uuid.UUID, plan_id: uuid.UUID, sender_id: uuid.UUID,
                         recipient_ids: Sequence[uuid.UUID], created_at: datetime) -> dict[str, Any]:
    # Ids and time only: the subject and body never leave this service's database.
    return {
        "message_id": str(message_id),
        "plan_id": str(plan_id),
        "sender_id": str(sender_id),
        "recipient_ids": [str(r) for r in recipient_ids],
        "created_at": iso(created_at),
    }


def message_read_data(message_id: uuid.UUID, user_id: uuid.UUID, read_at: datetime) -> dict[str, Any]:
    return {"message_id": str(message_id), "user_id": str(user_id), "read_at": iso(read_at)}


# --- what a viewer sees ----------------------------------------------------------------------------

def person(user_id: uuid.UUID, display_name: str | None) -> dict[str, Any]:
    return {"id": str(user_id), "display_name": display_name}


def time_or_none(value: datetime | None) -> str | None:
    return None if value is None else iso(value)


def recipients_view(recipients: Iterable[tuple[uuid.UUID, str | None, datetime | None]],
                    viewer_id: uuid.UUID, sender_id: uuid.UUID) -> list[dict[str, Any]]:
    """Each recipient with the time they read it. Read receipts are the sender's: another recipient
    sees only their own read time, not when their co-recipients opened the message."""
    shown = []
    for recipient_id, display_name, read_at in recipients:
        visible = viewer_id in (sender_id, recipient_id)
        shown.append({**person(recipient_id, display_name),
                      "read_at": time_or_none(read_at) if visible else None})
    return shown


def _header(row: Mapping[str, Any]) -> dict[str, Any]:
    return {
        "id": str(row["id"]),
        "plan_id": str(row["plan_id"]),
        "thread_id": str(row["thread_id"]),
        "in_reply_to": None if row["in_reply_to"] is None else str(row["in_reply_to"]),
        "sender": person(row["sender_id"], row["sender_name"]),
        "subject": row["subject"],
    }


def message_view(row: Mapping[str, Any], viewer_id: uuid.UUID) -> dict[str, Any]:
    return {
        **_header(row),
        "recipients": recipients_view(row["recipients"], viewer_id, row["sender_id"]),
        "body": row["body"],
        "created_at": iso(row["created_at"]),
    }


def inbox_item(row: Mapping[str, Any]) -> dict[str, Any]:
    return {**_header(row), "created_at": iso(row["created_at"]), "read_at": time_or_none(row["read_at"])}


def sent_item(row: Mapping[str, Any]) -> dict[str, Any]:
    return {
        **_header(row),
        "recipients": recipients_view(row["recipients"], row["sender_id"], row["sender_id"]),
        "created_at": iso(row["created_at"]),
    }


# --- pages -----------------------------------------------------------------------------------------

def cursor_values(row: Mapping[str, Any]) -> list[str]:
    """Where the next page starts: after this row in (created_at, id) descending order."""
    return [row["created_at"].isoformat(), str(row["id"])]


def parse_cursor(values: Sequence[Any]) -> tuple[datetime, uuid.UUID]:
    """The (created_at, id) a cursor holds; ValueError for one this service did not give out."""
    created_at, message_id = values
    if not isinstance(created_at, str) or not isinstance(message_id, str):
        raise ValueError("cursor values must be strings")
    when = datetime.fromisoformat(created_at)
    if when.tzinfo is None:
        raise ValueError("cursor time without an offset")
    return when, uuid.UUID(message_id)


# --- incoming events -------------------------------------------------------------------------------

@dataclass(frozen=True)
class UserName:
    user_id: uuid.UUID
    display_name: str


@dataclass(frozen=True)
class Membership:
    plan_id: uuid.UUID
    user_id: uuid.UUID
    role: str | None


def parse_user(data: Mapping[str, Any]) -> UserName:
    name = data.get("display_name")
    if not isinstance(name, str) or not name.strip():
        raise InvalidEvent("display_name must be a non-empty string")
    return UserName(parse_uuid(data, "user_id"), name)


def parse_role(data: Mapping[str, Any], required: bool) -> str | None:
    role = data.get("role")
    if role is None and not required:
        return None
    if role not in ROLES:
        raise InvalidEvent("role must be owner, coordinator or participant")
    return role


def founding_members(data: Mapping[str, Any]) -> list[Membership]:
    """plan.created: the owner and the coordinator are the plan's first participants
    (one row when they are the same person, who is then the owner)."""
    plan_id = parse_uuid(data, "plan_id")
    owner = parse_uuid(data, "owner_id")
    coordinator = parse_uuid(data, "coordinator_id")
    members = [Membership(plan_id, owner, "owner")]
    if coordinator != owner:
        members.append(Membership(plan_id, coordinator, "coordinator"))
    return members


def parse_membership(data: Mapping[str, Any], added: bool) -> Membership:
    return Membership(parse_uuid(data, "plan_id"), parse_uuid(data, "user_id"),
                      parse_role(data, required=added))
