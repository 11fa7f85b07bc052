"""Request and response shapes for plans, validated with pydantic; unknown fields are refused."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Annotated, Any, ClassVar, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    StringConstraints,
    ValidationInfo,
    field_validator,
)

from services.plans import domain


def _no_nul(value: str) -> str:
    # PostgreSQL text cannot hold NUL; refused here rather than failing in the database.
    if "\x00" in value:
        raise ValueError("must not contain NUL characters")
    return value


def _rfc3339(value: object) -> object:
    if isinstance(value, datetime):
        return value
    if not isinstance(value, str):
        raise ValueError("must be an RFC 3339 date-time string")
    return domain.parse_rfc3339(value)


def _iso_date(value: object) -> object:
    if value is None or isinstance(value, date):
        return value
    if not isinstance(value, str):
        raise ValueError("must be a date string like 2025-03-01")
    return domain.parse_date(value)


Title = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200),
                  AfterValidator(_no_nul)]
Description = Annotated[str, StringConstraints(strip_whitespace=True, max_length=5000),
                        AfterValidator(_no_nul)]
Text = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=5000),
                 AfterValidator(_no_nul)]
LongText = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=20000),
                     AfterValidator(_no_nul)]
Location = Annotated[str, StringConstraints(strip_whitespace=True, max_length=300),
                     AfterValidator(_no_nul)]
Moment = Annotated[datetime, BeforeValidator(_rfc3339)]
Day = Annotated[date, BeforeValidator(_iso_date)]
Status = Literal["not_started", "in_progress", "completed", "cancelled"]
Role = Literal["owner", "coordinator", "participant"]
# The owner is set when the plan is created; participants are added as one of these.
AddedRole = Literal["coordinator", "participant"]


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class Change(Strict):
    """A PATCH body: fields left out stay as they are; these may not be set to null."""

    NOT_NULL: ClassVar[tuple[str, ...]] = ()

    @field_validator("*", mode="before")
    @classmethod
    def _not_null(cls, value: object, info: ValidationInfo) -> object:
        if value is None and info.field_name in cls.NOT_NULL:
            raise ValueError("cannot be null")
        return value

    def changes(self) -> dict[str, Any]:
        return self.model_dump(exclude_unset=True)


# --- requests ---------------------------------------------------------------------------------

class NewPlan(Strict):
    title: Title
    owner_id: uuid.UUID
    coordinator_id: uuid.UUID

    @field_validator("coordinator_id")
    @classmethod
    def _not_the_owner(cls, value: uuid.UUID, info: ValidationInfo) -> uuid.UUID:
        if value == info.data.get("owner_id"):
            raise ValueError("must be someone other than the owner")
        return value


class NewParticipant(Strict):
    user_id: uuid.UUID
    role: AddedRole = "participant"


class NewGoal(Strict):
    title: Title
    description: Description = ""


class GoalChange(Change):
    NOT_NULL = ("title", "description", "status")
    title: Title | None = None
    description: Description | None = None
    status: Status | None = None


class NewActivity(Strict):
    title: Title
    description: Description = ""
    due_date: Day | None = None
    responsible_id: uuid.UUID | None = None


class ActivityChange(Change):
    NOT_NULL = ("title", "description", "status", "goal_id")
    title: Title | None = None
    description: Description | None = None
    due_date: Day | None = None
    responsible_id: uuid.UUID | None = None
    status: Status | None = None
    goal_id: uuid.UUID | None = None


class NewComment(Strict):
    text: Text
    status: Status | None = None


class NewEvent(Strict):
    title: Title
    starts_at: Moment
    ends_at: Moment
    location: Location | None = None
    description: Description | None = None

    @field_validator("ends_at")
    @classmethod
    def _after_start(cls, value: datetime, info: ValidationInfo) -> datetime:
        starts_at = info.data.get("starts_at")
        if starts_at is not None and value <= starts_at:
            raise ValueError("must be after starts_at")
        return value


class EventChange(Change):
    NOT_NULL = ("title", "starts_at", "ends_at")
    title: Title | None = None
    starts_at: Moment | None = None
    ends_at: Moment | None = None
    location: Location | None = None
    description: Description | None = None


class NewAssessment(Strict):
    title: Title
    text: LongText


class AssessmentChange(Change):
    NOT_NULL = ("title", "text")
    title: Title | None = None
    text: LongText | None = None


# --- responses (for the OpenAPI document, and checked against answers in the tests) -----------

class Out(BaseModel):
    model_config = ConfigDict(extra="forbid")


class UserCard(Out):
    id: uuid.UUID
    display_name: str


class PlanOut(Out):
    id: uuid.UUID
    title: str
    owner: UserCard
    coordinator: UserCard
    created_at: datetime


class PlanSummary(Out):
    id: uuid.UUID
    title: str
    owner: UserCard
    my_role: Role


class EventOut(Out):
    id: uuid.UUID
    title: str
    starts_at: datetime
    ends_at: datetime
    location: str | None
    description: str | None


class PlanHome(Out):
    id: uuid.UUID
    title: str
    owner: UserCard
    coordinator: UserCard | None
    my_role: Role
    upcoming_events: list[EventOut]


class ParticipantOut(Out):
    user_id: uuid.UUID
    display_name: str
    role: Role
    email: str | None
    phone: str | None


class ActivityOut(Out):
    id: uuid.UUID
    goal_id: uuid.UUID
    title: str
    description: str
    due_date: date | None
    responsible: UserCard | None
    status: Status


class GoalOut(Out):
    id: uuid.UUID
    title: str
    description: str
    status: Status
    activities: list[ActivityOut]


class CommentOut(Out):
    id: uuid.UUID
    author: UserCard
    created_at: datetime
    text: str
    status: Status | None


class AssessmentOut(Out):
    id: uuid.UUID
    title: str
    text: str
    author: UserCard
    created_at: datetime


class AccessLogEntry(Out):
    user: UserCard
    action: Literal["read"]
    resource: str
    at: datetime


class PlanPage(Out):
    items: list[PlanSummary]
    next_cursor: str | None


class ParticipantPage(Out):
    items: list[ParticipantOut]
    next_cursor: str | None


class GoalPage(Out):
    items: list[GoalOut]
    next_cursor: str | None


class CommentPage(Out):
    items: list[CommentOut]
    next_cursor: str | None


class EventPage(Out):
    items: list[EventOut]
    next_cursor: str | None


class AssessmentPage(Out):
    items: list[AssessmentOut]
    next_cursor: str | None


class AccessLogPage(Out):
    items: list[AccessLogEntry]
    next_cursor: str | None
