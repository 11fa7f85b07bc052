"""Message alerts end to end: messages → RabbitMQ → notifier → loopback SMTP server / SMS gateway."""

from __future__ import annotations

import asyncio
import json
import logging
import time
import uuid
from collections.abc import Awaitable, Callable, Iterator

import pytest

from services.common.logging import JsonFormatter, quiet_client_libraries
from services.notifier.events import MESSAGES_QUEUE
from tests.messages_support import (  # noqa: F401  (fixtures)
    PUBLIC_URL,
    AlertScene,
    Publisher,
    StartMessages,
    StartNotifier,
    alerts_in,
    consumed,
    make_alert_scene,
    publisher_fixture,
    start_messages_fixture,
    start_notifier_fixture,
)
from tests.servers import SmsGateway, SmtpServer, wait_until
from tests.support import AuthHarness, EventTap

KARI_PHONE, PER_EMAIL, OLA_EMAIL = "+4791234567", "per@example.no", "ola@example.no"
MakeScene = Callable[..., Awaitable[AlertScene]]


@pytest.fixture
def make_scene(auth: AuthHarness, publisher: Publisher, start_notifier: StartNotifier,
               start_messages: StartMessages, smtp_server: SmtpServer, sms_gateway: SmsGateway
               ) -> MakeScene:
    def make(**notifier_env: str) -> Awaitable[AlertScene]:
        return make_alert_scene(auth, publisher, start_notifier, start_messages,
                                {**smtp_server.env(), **sms_gateway.env(), **notifier_env})
    return make


async def test_each_recipient_is_alerted_on_their_channel_in_their_language(
        make_scene: MakeScene, smtp_server: SmtpServer, sms_gateway: SmsGateway) -> None:
    scene = await make_scene()
    cast = scene.cast
    await scene.messages.sent(cast.tokens["ola"], scene.plan_id, [cast["kari"], cast["per"], cast["siri"]])
    await scene.messages.sent(cast.tokens["kari"], scene.plan_id, [cast["ola"]])

    [sms] = alerts_in(await sms_gateway.wait_for(2, to=KARI_PHONE))
    assert sms.text == f"You have a new message in Samhandling. Log in to read it: {PUBLIC_URL}"
    [per] = alerts_in(await smtp_server.wait_for(2, to=PER_EMAIL))
    assert per.subject == "Ny melding i Samhandling"
    assert per.text.strip() == f"Du har ei ny melding i Samhandling. Logg inn for å lese ho: {PUBLIC_URL}"
    [ola] = alerts_in(await smtp_server.wait_for(2, to=OLA_EMAIL))
    assert ola.text.strip() == f"Du har en ny melding i Samhandling. Logg inn for å lese den: {PUBLIC_URL}"

    # Siri chose no channel: her code came by e-mail, but no alert ever does.
    await asyncio.sleep(1.0)
    assert alerts_in(smtp_server.messages_to("siri@example.no")) == []
    assert await scene.notifier.alert_deliveries(cast["siri"]) == []
    delivery = await scene.notifier.finished_alert(cast["kari"])
    assert (delivery["kind"], delivery["channel"], delivery["status"]) == ("alert", "sms", "sent")
    assert delivery["destination_masked"] == "+47******67"
    [attempt] = await scene.notifier.attempts(delivery["id"])
    assert (attempt["outcome"], attempt["transport"]) == ("sent", "sms_gateway")


async def test_alerts_are_coalesced_within_the_window(make_scene: MakeScene,
                                                      sms_gateway: SmsGateway) -> None:
    window = 4.0
    scene = await make_scene(ALERT_WINDOW_SECONDS=str(window))
    messages, cast, plan = scene.messages, scene.cast, scene.plan_id
    ola, kari = cast.tokens["ola"], cast.tokens["kari"]

    async def kari_alerts(count: int, timeout: float = 10.0) -> float:
        await wait_until(lambda: len(alerts_in(sms_gateway.messages_to(KARI_PHONE))) >= count, timeout,
                         f"{count} alert(s) to Kari")
        return alerts_in(sms_gateway.messages_to(KARI_PHONE))[count - 1].at

    # Nothing unread: alerted at once.
    first = await messages.sent(ola, plan, [cast["kari"]])
    first_at = await kari_alerts(1)
    # More while the first is unread: one alert for both, a window after the first alert.
    second = await messages.sent(ola, plan, [cast["kari"]])
    third = await messages.sent(ola, plan, [cast["kari"]])
    second_at = await kari_alerts(2)
    assert second_at - first_at >= window - 0.5
    # Read everything, then a new message: at once again, even inside the window.
    for message in (first, second, third):
        assert await messages.read(kari, message["id"]) == 204
    await wait_until(lambda: consumed(scene.notifier.app, MESSAGES_QUEUE) >= 6, 10, "the reads")
    sent_at = time.time()
    fourth = await messages.sent(ola, plan, [cast["kari"]])
    third_at = await kari_alerts(3)
    assert third_at - second_at < window and third_at - sent_at < 2.0
    # Another while that one is unread, read before the window ends: that alert is cancelled.
    fifth = await messages.sent(ola, plan, [cast["kari"]])
    await wait_until(lambda: consumed(scene.notifier.app, MESSAGES_QUEUE) >= 8, 10, "the fifth")
    for message in (fourth, fifth):
        assert await messages.read(kari, message["id"]) == 204
    await asyncio.sleep(third_at + window + 1.0 - time.time())  # past when it would have been due
    assert len(alerts_in(sms_gateway.messages_to(KARI_PHONE))) == 3
    assert len(await scene.notifier.alert_deliveries(cast["kari"])) == 3


async def test_a_waiting_alert_is_for_messages_not_yet_announced(make_scene: MakeScene,
                                                                   sms_gateway: SmsGateway) -> None:
    window = 3.0
    scene = await make_scene(ALERT_WINDOW_SECONDS=str(window))
    messages, cast, plan = scene.messages, scene.cast, scene.plan_id
    await messages.sent(cast.tokens["ola"], plan, [cast["kari"]])
    first_at = alerts_in(await sms_gateway.wait_for(2, to=KARI_PHONE))[0].at  # (and the login code)
    # The second is read before its alert is due; the first, announced already, stays unread:
    # nothing new is waiting, so no alert.
    second = await messages.sent(cast.tokens["ola"], plan, [cast["kari"]])
    await wait_until(lambda: consumed(scene.notifier.app, MESSAGES_QUEUE) >= 2, 10, "the second")
    assert await messages.read(cast.tokens["kari"], second["id"]) == 204
    await asyncio.sleep(first_at + window + 1.0 - time.time())  # past when it would have been due
    assert len(alerts_in(sms_gateway.messages_to(KARI_PHONE))) == 1
    # A third, left unread, is announced a window after the first alert.
    await messages.sent(cast.tokens["ola"], plan, [cast["kari"]])
    await wait_until(lambda: len(alerts_in(sms_gateway.messages_to(KARI_PHONE))) == 2, 10, "the alert")


async def test_a_read_handled_before_its_message_created_leaves_nothing_unread(
        make_scene: MakeScene, sms_gateway: SmsGateway, publisher: Publisher) -> None:
    scene = await make_scene()
    kari, message_id = scene.cast["kari"], str(uuid.uuid4())
    await publisher.publish("message.read", {"message_id": message_id, "user_id": kari,
                                             "read_at": "2025-03-01T12:00:01Z"})
    await wait_until(lambda: consumed(scene.notifier.app, MESSAGES_QUEUE) >= 1, 10, "the read")
    await publisher.publish("message.created", {
        "message_id": message_id, "plan_id": scene.plan_id, "sender_id": scene.cast["ola"],
        "recipient_ids": [kari], "created_at": "2025-03-01T12:00:00Z"})
    await wait_until(lambda: consumed(scene.notifier.app, MESSAGES_QUEUE) >= 2, 10, "the message")
    await asyncio.sleep(0.5)
    assert alerts_in(sms_gateway.messages) == []
    assert await scene.notifier.pool.fetchval("select count(*) from unread_messages") == 0


@pytest.fixture
def all_logs(caplog: pytest.LogCaptureFixture) -> Iterator[pytest.LogCaptureFixture]:
    quiet_client_libraries()  # as configure_logging does in every service, at any LOG_LEVEL
    caplog.set_level(logging.DEBUG)
    yield caplog


async def test_no_alert_log_line_event_or_stored_row_carries_subject_or_body(
        make_scene: MakeScene, smtp_server: SmtpServer, sms_gateway: SmsGateway,
        event_tap: EventTap, all_logs: pytest.LogCaptureFixture) -> None:
    subject, body = f"Kanari-emne {uuid.uuid4().hex}", f"Kanari-innhold {uuid.uuid4().hex}\nlinje to"
    smtp_server.respond(451, then=250)
    scene = await make_scene()
    messages, cast, plan = scene.messages, scene.cast, scene.plan_id
    sms_gateway.respond(500, then=200)
    message = await messages.sent(cast.tokens["ola"], plan, [cast["kari"], cast["per"]], subject=subject,
                                  body=body)
    reply = await messages.sent(cast.tokens["kari"], plan, [cast["ola"]], subject=subject, body=body,
                                in_reply_to=message["id"])
    await sms_gateway.wait_for(2, to=KARI_PHONE)
    await smtp_server.wait_for(2, to=PER_EMAIL)
    await smtp_server.wait_for(2, to=OLA_EMAIL)
    for token in (cast.tokens["kari"], cast.tokens["ola"]):
        await messages.folder(token)
        await messages.folder(token, folder="sent")
    await messages.get(cast.tokens["ola"], f"/v1/messages/{message['id']}")
    await messages.read(cast.tokens["kari"], message["id"])
    await messages.read(cast.tokens["ola"], reply["id"])
    # An invalid one too: validation errors must not quote the input either.
    await messages.send(cast.tokens["ola"], plan, [cast["kari"]], subject=subject + "x" * 200, body=body)
    await event_tap.wait_for("message.read", count=2)
    await wait_until(lambda: consumed(scene.notifier.app, MESSAGES_QUEUE) >= 4, 10, "the reads")

    canaries = [subject, body, "Kanari-emne", "Kanari-innhold", "Ola Koordinator", "Kari sin plan"]
    for alert in alerts_in(smtp_server.messages + sms_gateway.messages):
        assert not [c for c in canaries if c in alert.subject + alert.text]
    formatter = JsonFormatter("test")
    lines = [formatter.format(r) + r.getMessage() + repr(r.args) for r in all_logs.records]
    assert any('"msg": "delivery attempt"' in line for line in lines)
    assert not [line for line in lines if "Kanari" in line]
    assert "Kanari" not in json.dumps(event_tap.events)
    stored = await scene.notifier.pool.fetch("select * from deliveries")
    stored += await scene.notifier.pool.fetch("select * from delivery_attempts")
    assert "Kanari" not in json.dumps([dict(r) for r in stored], default=str)
