"""Request and response shapes for messages, validated with pydantic; unknown fields are refused."""

from __future__ import annotations

import re
import uuid
from typing import Annotated

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, StringConstraints

SUBJECT_MAX = 200
BODY_MAX = 20_000
MAX_RECIPIENTS = 100

# PostgreSQL text cannot hold NUL, and no other control character belongs in a subject;
# a body may have line breaks and tabs.
SUBJECT_FORBIDDEN = re.compile(r"[\x00-\x1f\x7f]")
BODY_FORBIDDEN = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


def _printable(pattern: re.Pattern[str]) -> AfterValidator:
    def check(value: str) -> str:
        if pattern.search(value):
            raise ValueError("must not contain control characters")
        try:
            value.encode("utf-8")
        except UnicodeEncodeError:  # a lone surrogate, from a \ud800 escape in the JSON
            raise ValueError("must be valid Unicode text") from None
        if not value.strip():
            raise ValueError("must not be blank")
        return value

    return AfterValidator(check)


Subject = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=SUBJECT_MAX),
                    _printable(SUBJECT_FORBIDDEN)]
Body = Annotated[str, StringConstraints(min_length=1, max_length=BODY_MAX), _printable(BODY_FORBIDDEN)]


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class NewMessage(Strict):
    plan_id: uuid.UUID
    recipient_ids: list[uuid.UUID] = Field(min_length=1, max_length=MAX_RECIPIENTS)
    subject: Subject
    body: Body
    in_reply_to: uuid.UUID | None = None


# --- answers (for the OpenAPI document) ------------------------------------------------------------

class Person(BaseModel):
    id: str
    display_name: str | None = Field(description="null until the service has heard of the user")


class Recipient(Person):
    read_at: str | None = Field(description="when this recipient first opened it; shown to the sender"
                                            " and to the recipient themself, null for other viewers")


class MessageOut(BaseModel):
    id: str
    plan_id: str
    thread_id: str
    in_reply_to: str | None
    sender: Person
    recipients: list[Recipient]
    subject: str
    body: str
    created_at: str


class InboxItem(BaseModel):
    id: str
    plan_id: str
    thread_id: str
    in_reply_to: str | None
    sender: Person
    subject: str
    created_at: str
    read_at: str | None


class SentItem(BaseModel):
    id: str
    plan_id: str
    thread_id: str
    in_reply_to: str | None
    sender: Person
    recipients: list[Recipient]
    subject: str
    created_at: str


class MessagePage(BaseModel):
    items: list[InboxItem | SentItem]
    next_cursor: str | None


class UnreadCount(BaseModel):
    unread: int
