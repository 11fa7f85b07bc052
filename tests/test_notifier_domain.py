"""The notifier's rules without I/O: parsing events, texts per locale, masking, retry timing, failures."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from services.notifier import domain
from services.notifier.config import Settings
from services.notifier.delivery import build_email, write_outbox_file
from services.notifier.domain import InvalidEvent, RetryPolicy

WHEN = datetime(2025, 3, 1, 13, 5, tzinfo=UTC)  # 14:05 in Oslo (winter time)


def otp(**changes: object) -> dict[str, object]:
    return {"challenge_id": "c1", "user_id": str(uuid.uuid4()), "channel": "sms",
            "destination": "+4791234567", "code": "123456", "expires_at": "2025-03-01T13:05:00Z",
            **changes}


def test_an_otp_request_is_parsed() -> None:
    request = domain.parse_otp_request(otp())
    assert (request.channel, request.code, request.expires_at) == ("sms", "123456", WHEN)
    assert "123456" not in repr(request) and "91234567" not in repr(request)


@pytest.mark.parametrize(("changes", "field"), [
    ({"channel": "fax"}, "channel"),
    ({"destination": "91234567"}, "destination"),
    ({"channel": "email", "destination": "+4791234567"}, "destination"),
    ({"channel": "email", "destination": "a@b.no\r\nBcc: x@y.no"}, "destination"),
    ({"code": "12 34"}, "code"),
    ({"code": 123456}, "code"),
    ({"expires_at": "2025-03-01T13:05:00"}, "expires_at"),
    ({"expires_at": "in five minutes"}, "expires_at"),
    ({"user_id": "u1"}, "user_id"),
    ({"challenge_id": None}, "challenge_id"),
])
def test_an_otp_request_that_can_never_be_sent_is_refused(changes: dict[str, object], field: str) -> None:
    with pytest.raises(InvalidEvent) as raised:
        domain.parse_otp_request(otp(**changes))
    assert str(raised.value).startswith(field)
    assert "123456" not in str(raised.value)


def test_a_contact_is_parsed_with_empty_fields_as_none() -> None:
    user_id = uuid.uuid4()
    contact = domain.parse_contact({"user_id": str(user_id), "display_name": "Kari", "email": "",
                                    "phone": None, "notify_channel": "sms", "locale": "nn"})
    assert contact == domain.Contact(user_id, "Kari", None, None, "sms", "nn")
    with pytest.raises(InvalidEvent):
        domain.parse_contact({"user_id": str(user_id), "email": 5})


@pytest.mark.parametrize(("locale", "text"), [
    (None, "Din engangskode for Samhandling er 123456. Den gjelder til 14:05."),
    ("nb", "Din engangskode for Samhandling er 123456. Den gjelder til 14:05."),
    ("nn", "Eingongskoden din for Samhandling er 123456. Koden gjeld til 14:05."),
    ("en", "Your one-time code for Samhandling is 123456. It is valid until 14:05."),
    ("en-GB", "Your one-time code for Samhandling is 123456. It is valid until 14:05."),
    ("sv", "Din engangskode for Samhandling er 123456. Den gjelder til 14:05."),
])
def test_the_code_text_is_short_and_in_the_users_language(locale: str | None, text: str) -> None:
    message = domain.otp_message(domain.parse_otp_request(otp()), locale, "Europe/Oslo")
    assert message.text == text
    assert len(message.text) <= 160  # one SMS
    assert "123456" not in repr(message)


def test_expiry_is_written_in_the_configured_time_zone() -> None:
    request = domain.parse_otp_request(otp(expires_at="2025-07-01T12:00:00Z"))
    assert domain.otp_message(request, "en", "Europe/Oslo").text.endswith("until 14:00.")
    assert domain.otp_message(request, "en", "UTC").text.endswith("until 12:00.")


@pytest.mark.parametrize(("destination", "masked"), [
    ("+4791234567", "+47******67"),
    ("kari.nordmann@example.no", "k***@example.no"),
    ("1234", "****"),
])
def test_destinations_are_masked(destination: str, masked: str) -> None:
    assert domain.mask_destination(destination) == masked


def test_backoff_grows_to_its_cap_with_jitter() -> None:
    policy = RetryPolicy(initial=0.2, maximum=3.0)
    highest = [domain.backoff_delay(n, policy, rand=lambda: 1.0) for n in range(1, 7)]
    assert highest == pytest.approx([0.2, 0.4, 0.8, 1.6, 3.0, 3.0])
    assert domain.backoff_delay(1, policy, rand=lambda: 0.0) == pytest.approx(0.1)


def test_nothing_waits_or_is_attempted_past_the_deadline() -> None:
    policy = RetryPolicy(initial=1.0, maximum=5.0)
    assert domain.pause_before_retry(4, policy, WHEN, WHEN - timedelta(seconds=0.5)) <= 0.5
    assert domain.pause_before_retry(4, policy, WHEN, WHEN + timedelta(seconds=1)) == 0
    assert domain.attempt_timeout(10, WHEN, WHEN - timedelta(seconds=2)) == pytest.approx(2)
    last = WHEN - domain.LAST_ATTEMPT_MARGIN  # after this, an attempt could arrive with the code expired
    assert domain.is_expired(WHEN, WHEN) and domain.is_expired(WHEN, last)
    assert not domain.is_expired(WHEN, last - timedelta(microseconds=1))


def test_failures_are_classified_as_the_contract_says() -> None:
    assert domain.classify_gateway_status(202) is None
    assert domain.classify_gateway_status(400).permanent  # type: ignore[union-attr]
    assert domain.classify_gateway_status(429).permanent  # type: ignore[union-attr]
    assert not domain.classify_gateway_status(503).permanent  # type: ignore[union-attr]
    assert domain.classify_gateway_status(302).permanent  # type: ignore[union-attr]
    assert domain.classify_smtp_reply(550, "SMTPDataError").outcome == "permanent_failure"
    assert domain.classify_smtp_reply(451, "SMTPDataError").outcome == "temporary_failure"
    assert domain.classify_smtp_reply(None, "SMTPConnectError").outcome == "temporary_failure"


def test_settings_from_the_environment() -> None:
    settings = Settings.from_env({})
    assert settings.common.port == 8084
    assert settings.smtp is None and settings.sms is None
    assert settings.dev_outbox_dir == Path("var/outbox")
    assert settings.retry == RetryPolicy(0.2, 5.0)
    assert settings.sms_timeout == 10.0 and settings.timezone == "Europe/Oslo"
    assert settings.mail_from == "Samhandling <no-reply@samhandling.local>"

    smtp = Settings.from_env({"SMTP_HOST": "mail", "SMTP_SECURITY": "starttls", "SMTP_USERNAME": "u",
                              "SMTP_PASSWORD": "hunter2"}).smtp
    assert smtp is not None and (smtp.port, smtp.security) == (587, "starttls")
    assert "hunter2" not in repr(smtp)
    assert Settings.from_env({"SMTP_HOST": "mail", "SMTP_SECURITY": "tls"}).smtp.port == 465  # type: ignore[union-attr]
    for bad in ({"SMTP_HOST": "m", "SMTP_SECURITY": "ssl"}, {"SMS_TIMEOUT_SECONDS": "0"},
                {"NOTIFIER_TIMEZONE": "Mars/Olympus"}):
        with pytest.raises(ValueError):
            Settings.from_env(bad)


def test_the_email_and_the_outbox_file() -> None:
    message = domain.OutgoingMessage("email", "kari@example.no", "Engangskode for Samhandling", "Kode 1234.")
    mail = build_email(message, "Samhandling <no-reply@samhandling.local>")
    assert (mail["To"], mail["Auto-Submitted"]) == ("kari@example.no", "auto-generated")
    assert mail["Message-ID"].endswith("@samhandling.local>")
    assert mail.get_content().strip() == "Kode 1234."


def test_outbox_files_sort_by_time(tmp_path: Path) -> None:
    sms = domain.OutgoingMessage("sms", "+4791234567", "Engangskode", "Kode 1234.")
    later = write_outbox_file(tmp_path, sms, "x", WHEN + timedelta(seconds=1))
    earlier = write_outbox_file(tmp_path, sms, "x", WHEN)
    assert sorted(tmp_path.iterdir()) == [earlier, later]
    assert earlier.name.startswith("20250301T130500.000000Z_sms_+4791234567_")
    assert earlier.read_text().splitlines()[:3] == ["Channel: sms", "To: +4791234567", "Subject: Engangskode"]
