"""Message alerts without I/O: parsing the events, the text per locale and channel, coalescing."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import pytest

from services.messages import domain as messages_domain
from services.notifier import domain
from services.notifier.config import Settings
from services.notifier.domain import AlertSchedule, InvalidEvent

NOW = datetime(2025, 3, 1, 12, 0, tzinfo=UTC)
WINDOW = timedelta(minutes=15)
URL = "https://samhandling.example.no"


def contact(**changes: object) -> dict[str, object]:
    return {"notify_channel": "sms", "email": "kari@example.no", "phone": "+4791234567", "locale": "nb",
            **changes}


def test_message_events_are_parsed_from_what_the_messages_service_emits() -> None:
    message_id, plan_id, sender, kari = (uuid.uuid4() for _ in range(4))
    data = messages_domain.message_created_data(message_id, plan_id, sender, [kari], NOW)
    assert set(data) == {"message_id", "plan_id", "sender_id", "recipient_ids", "created_at"}
    assert domain.parse_message_created(data) == domain.MessageCreated(message_id, sender, (kari,))
    read = messages_domain.message_read_data(message_id, kari, NOW)
    assert domain.parse_message_read(read) == domain.MessageRead(message_id, kari)


@pytest.mark.parametrize("changes", [
    {"recipient_ids": []}, {"recipient_ids": "x"}, {"recipient_ids": ["x"]}, {"message_id": None},
    {"sender_id": "kari"},
])
def test_a_message_event_that_can_never_be_handled_is_refused(changes: dict[str, object]) -> None:
    data = {"message_id": str(uuid.uuid4()), "plan_id": str(uuid.uuid4()), "sender_id": str(uuid.uuid4()),
            "recipient_ids": [str(uuid.uuid4())], "created_at": "2025-03-01T12:00:00Z", **changes}
    with pytest.raises(InvalidEvent):
        domain.parse_message_created(data)


@pytest.mark.parametrize(("locale", "subject", "text"), [
    (None, "Ny melding i Samhandling",
     f"Du har en ny melding i Samhandling. Logg inn for å lese den: {URL}"),
    ("nb", "Ny melding i Samhandling",
     f"Du har en ny melding i Samhandling. Logg inn for å lese den: {URL}"),
    ("nn", "Ny melding i Samhandling", f"Du har ei ny melding i Samhandling. Logg inn for å lese ho: {URL}"),
    ("en", "New message in Samhandling", f"You have a new message in Samhandling. Log in to read it: {URL}"),
    ("sv", "Ny melding i Samhandling",
     f"Du har en ny melding i Samhandling. Logg inn for å lese den: {URL}"),
])
def test_the_alert_says_only_that_a_message_waits_in_the_users_language(
        locale: str | None, subject: str, text: str) -> None:
    message = domain.alert_message(contact(locale=locale), URL)
    assert message is not None
    assert (message.channel, message.to, message.subject, message.text) == ("sms", "+4791234567", subject,
                                                                            text)
    assert len(message.text) <= 160


@pytest.mark.parametrize(("changes", "destination"), [
    ({"notify_channel": "sms"}, ("sms", "+4791234567")),
    ({"notify_channel": "email"}, ("email", "kari@example.no")),
    ({"notify_channel": "none"}, None),
    ({"notify_channel": None}, None),
    ({"notify_channel": "sms", "phone": None}, None),
    ({"notify_channel": "email", "email": None}, None),
])
def test_the_alert_goes_to_the_chosen_channel_or_nowhere(changes: dict[str, object],
                                                         destination: tuple[str, str] | None) -> None:
    assert domain.alert_destination(contact(**changes)) == destination
    assert (domain.alert_message(contact(**changes), URL) is None) == (destination is None)
    assert domain.alert_destination(None) is None


def schedule(alert: bool = False, last: timedelta | None = None) -> AlertSchedule:
    return AlertSchedule(uuid.uuid4() if alert else None, None if last is None else NOW - last)


@pytest.mark.parametrize(("state", "had_unread", "action", "due"), [
    # Nothing unread: at once, however recently the last alert went.
    (schedule(), False, domain.SCHEDULE, NOW),
    (schedule(last=timedelta(minutes=1)), False, domain.SCHEDULE, NOW),
    # Unread ones already: at most once per window.
    (schedule(last=timedelta(minutes=5)), True, domain.SCHEDULE, NOW + timedelta(minutes=10)),
    (schedule(last=timedelta(minutes=20)), True, domain.SCHEDULE, NOW),
    (schedule(), True, domain.SCHEDULE, NOW),
    # An alert already waiting (or being sent) covers this message.
    (schedule(alert=True, last=timedelta(minutes=5)), True, domain.COALESCE, None),
    (schedule(alert=True), False, domain.COALESCE, None),
])
def test_alerts_are_coalesced_as_the_contract_says(state: AlertSchedule, had_unread: bool, action: str,
                                                   due: datetime | None) -> None:
    decision = domain.next_alert(state, had_unread, NOW, WINDOW)
    assert (decision.action, decision.due_at) == (action, due)


def test_alert_settings_from_the_environment() -> None:
    alerts = Settings.from_env({}).alerts
    assert (alerts.window_seconds, alerts.retry_horizon_seconds) == (900, 24 * 3600)
    assert alerts.retry.maximum == 300
    short = Settings.from_env({"ALERT_WINDOW_SECONDS": "2", "ALERT_POLL_SECONDS": "0.1"}).alerts
    assert (short.window_seconds, short.poll_seconds) == (2, 0.1)
    for bad in ({"ALERT_WINDOW_SECONDS": "-1"}, {"ALERT_POLL_SECONDS": "0"},
                {"ALERT_RETRY_HORIZON_SECONDS": "soon"}):
        with pytest.raises(ValueError):
            Settings.from_env(bad)
