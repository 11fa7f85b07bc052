"""Plans' rules with no I/O: roles, removal, times, cursors, the user projection's parsing."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime

import pytest
from pydantic import ValidationError

from services.common.events import iso
from services.plans import domain, schemas


def test_only_coordinators_manage_and_owner_and_coordinators_read_the_log() -> None:
    assert [domain.can_manage(r) for r in ("owner", "coordinator", "participant")] == [
        False, True, False]
    assert [domain.can_read_access_log(r) for r in ("owner", "coordinator", "participant")] == [
        True, True, False]


@pytest.mark.parametrize(("role", "coordinators", "refused"), [
    ("owner", 3, True), ("coordinator", 1, True), ("coordinator", 2, False),
    ("participant", 1, False),
])
def test_the_owner_and_the_last_coordinator_stay(role: str, coordinators: int, refused: bool) -> None:
    assert (domain.removal_problem(role, coordinators) is not None) == refused


@pytest.mark.parametrize(("text", "expected"), [
    ("2031-05-02T10:00:00Z", datetime(2031, 5, 2, 10, tzinfo=UTC)),
    ("2031-05-02T12:00:00+02:00", datetime(2031, 5, 2, 10, tzinfo=UTC)),
    ("2031-05-02T10:00:00.250000Z", datetime(2031, 5, 2, 10, 0, 0, 250000, tzinfo=UTC)),
])
def test_rfc3339_times_are_read_into_utc(text: str, expected: datetime) -> None:
    parsed = domain.parse_rfc3339(text)
    assert parsed == expected and parsed.tzinfo == UTC


@pytest.mark.parametrize("text", ["2031-05-02", "2031-05-02T10:00:00", "tomorrow", "",
                                  "0001-01-01T00:00:00+01:00"])
def test_times_without_offset_or_out_of_range_are_refused(text: str) -> None:
    with pytest.raises(ValueError):
        domain.parse_rfc3339(text)


def test_a_cursor_key_reads_back_as_what_it_was_made_from() -> None:
    when, row_id = datetime(2031, 5, 2, 10, 0, 0, 1, tzinfo=UTC), uuid.uuid4()
    assert domain.parse_time_id_key(domain.time_id_key(when, row_id)) == (when, row_id)
    assert domain.parse_time_id_key(domain.time_id_key(when, 42), serial=True) == (when, 42)
    for wrong in ([1, 2], ["x", str(row_id)], [iso(when), "y"], [iso(when), 4]):
        with pytest.raises(ValueError):
            domain.parse_time_id_key(wrong)
    for wrong_serial in ([iso(when), True], [iso(when), -1], [iso(when), "1"]):
        with pytest.raises(ValueError):
            domain.parse_time_id_key(wrong_serial, serial=True)


def test_user_events_are_parsed_or_refused_for_good() -> None:
    user_id = str(uuid.uuid4())
    user = domain.parse_user({"user_id": user_id, "display_name": "Kari", "email": None,
                              "phone": "+4791234567", "locale": "nb"})
    assert user == domain.UserCopy(uuid.UUID(user_id), "Kari", None, "+4791234567")
    for data in ({}, {"user_id": "x", "display_name": "K"}, {"user_id": user_id},
                 {"user_id": user_id, "display_name": " "},
                 {"user_id": user_id, "display_name": "K", "phone": 47}):
        with pytest.raises(domain.InvalidEvent):
            domain.parse_user(data)
    with pytest.raises(domain.InvalidEvent):
        domain.parse_occurred_at("yesterday")


def test_views_write_times_in_utc_with_z_and_ids_as_strings() -> None:
    row = {"id": uuid.uuid4(), "author_id": uuid.uuid4(), "author_name": "Ola", "text": "Hei",
           "created_at": datetime(2031, 5, 2, 12, tzinfo=UTC), "status": None}
    view = domain.comment_view(row)
    assert view["created_at"] == "2031-05-02T12:00:00Z"
    schemas.CommentOut.model_validate(view)
    activity = domain.activity_view({"id": uuid.uuid4(), "goal_id": uuid.uuid4(), "title": "A",
                                     "description": "", "due_date": date(2031, 5, 1),
                                     "responsible_id": None, "responsible_name": None,
                                     "status": "not_started"})
    assert activity["due_date"] == "2031-05-01" and activity["responsible"] is None


def test_request_shapes_refuse_what_the_database_could_not_hold() -> None:
    owner = str(uuid.uuid4())
    with pytest.raises(ValidationError) as refused:
        schemas.NewPlan.model_validate({"title": "a\x00b", "owner_id": owner, "coordinator_id": owner})
    assert {e["loc"][0] for e in refused.value.errors()} == {"title", "coordinator_id"}
    with pytest.raises(ValidationError):
        schemas.NewEvent.model_validate({"title": "M", "starts_at": 1924992000,
                                         "ends_at": "2031-01-01T10:00:00Z"})
    assert schemas.ActivityChange.model_validate({"due_date": None}).changes() == {"due_date": None}
    with pytest.raises(ValidationError):
        schemas.ActivityChange.model_validate({"title": None})
