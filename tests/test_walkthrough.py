"""The walkthrough: four services as separate processes, two replicas each behind the gateway,
real PostgreSQL, RabbitMQ, SMTP server and SMS gateway; a whole day of the product in one test."""

from __future__ import annotations

import asyncio
from collections import Counter

import pytest

from tests.servers import SmsGateway, SmtpServer
from tests.support import EventTap
from tests.walkthrough import PASSWORD, System

SUBJECT, BODY = "Kanarifugl-emne 7Q", "Kanarifugl-tekst om helse 9Z"
PLAN_TITLE = "Kari sin plan 4X"


@pytest.fixture
async def system(service_env, smtp_server: SmtpServer, sms_gateway: SmsGateway,
                 event_tap: EventTap):  # the tap first, so it sees every event
    running = System(service_env, smtp_server, sms_gateway, replicas=2, ALERT_WINDOW_SECONDS="2",
                     ALERT_POLL_SECONDS="0.2")
    try:
        await running.start()
        yield running
    finally:
        await running.stop()


@pytest.mark.timeout(240)
async def test_a_day_with_samhandling(system: System, event_tap: EventTap) -> None:
    # An administrator, made with the command line, creates the people and logs in with a code.
    await system.create_first_admin("admin")
    await system.login("admin", "admin@example.no")
    people = {
        "kari": {"phone": "+4791000001", "notify_channel": "sms"},
        "ola": {"phone": "+4791000002", "notify_channel": "email"},
        "per": {"phone": "+4791000003", "notify_channel": "sms", "locale": "en"},
    }
    for name, contact in people.items():
        await system.create_user(name, contact.pop("phone"), contact.pop("notify_channel"), **contact)
    await system.login("kari", "+4791000001")
    await system.login("ola", "ola@example.no")
    await system.login("per", "+4791000003")
    ids = system.ids

    # The plan, its structure, and what the participants say about it.
    plan = await system.call("admin", "POST", "/v1/plans", {
        "title": PLAN_TITLE, "owner_id": ids["kari"], "coordinator_id": ids["ola"]},
        expect=201, retry_on=(422,))
    base = f"/v1/plans/{plan['id']}"
    await system.call("ola", "POST", f"{base}/participants",
                      {"user_id": ids["per"], "role": "participant"}, expect=201)
    goal = await system.call("ola", "POST", f"{base}/goals",
                             {"title": "Bo trygt hjemme", "description": "Med litt hjelp"}, expect=201)
    activity = await system.call("ola", "POST", f"{base}/goals/{goal['id']}/activities", {
        "title": "Handle mat", "description": "Hver fredag", "responsible_id": ids["per"]},
        expect=201)
    await system.call("ola", "POST", f"{base}/events", {
        "title": "Ansvarsgruppemøte", "starts_at": "2030-01-10T09:00:00Z",
        "ends_at": "2030-01-10T10:00:00Z", "location": "Helsehuset"}, expect=201)
    await system.call("ola", "POST", f"{base}/assessments",
                      {"title": "Kartlegging", "text": "Klarer stell selv"}, expect=201)
    await system.call("kari", "POST", f"{base}/goals/{goal['id']}/comments",
                      {"text": "Jeg vil klare mer selv", "status": "in_progress"}, expect=201)
    await system.call("per", "POST", f"{base}/activities/{activity['id']}/comments",
                      {"text": "Første tur gikk fint"}, expect=201)
    home = await system.call("per", "GET", base)
    assert home["my_role"] == "participant" and home["upcoming_events"]
    goals = await system.call("kari", "GET", f"{base}/goals")
    assert goals["items"][0]["status"] == "in_progress"

    # A message: each recipient is alerted on their own channel, in their language, with nothing
    # from the message or the plan in the alert.
    message = await system.call("ola", "POST", "/v1/messages", {
        "plan_id": plan["id"], "recipient_ids": [ids["kari"], ids["per"]],
        "subject": SUBJECT, "body": BODY}, expect=201, retry_on=(404, 422))
    kari_alert = (await system.sms.wait_for(2, to="+4791000001", timeout=20))[-1]
    per_alert = (await system.sms.wait_for(2, to="+4791000003", timeout=20))[-1]
    assert "melding" in kari_alert.text and "message" in per_alert.text
    for alert in (kari_alert, per_alert):
        for secret in (SUBJECT, BODY, "Ola", PLAN_TITLE):
            assert secret not in alert.text
    inbox = await system.call("kari", "GET", "/v1/messages?folder=inbox&unread=true")
    assert [m["id"] for m in inbox["items"]] == [message["id"]]
    assert (await system.call("kari", "GET", "/v1/messages/unread-count"))["unread"] == 1
    await system.call("kari", "POST", f"/v1/messages/{message['id']}/read", expect=204)
    await system.call("per", "POST", f"/v1/messages/{message['id']}/read", expect=204)
    receipts = (await system.call("ola", "GET", f"/v1/messages/{message['id']}"))["recipients"]
    assert all(r["read_at"] for r in receipts)
    reply = await system.call("kari", "POST", "/v1/messages", {
        "plan_id": plan["id"], "recipient_ids": [ids["ola"]], "subject": "Sv: " + SUBJECT,
        "body": "Takk", "in_reply_to": message["id"]}, expect=201)
    assert reply["thread_id"] == message["thread_id"]
    ola_alert = (await system.smtp.wait_for(2, to="ola@example.no", timeout=20))[-1]
    assert SUBJECT not in ola_alert.text and SUBJECT not in ola_alert.subject

    # Kari changes her contact details, channel and password; the next code comes by e-mail.
    await system.call("kari", "PATCH", "/v1/users/me",
                      {"phone": "+4791000009", "notify_channel": "email"})
    await system.call("kari", "POST", "/v1/users/me/password",
                      {"current_password": PASSWORD, "new_password": "a brand new one"}, expect=204)
    await system.login("kari", "kari@example.no", password="a brand new one")
    participants = await system.call("ola", "GET", f"{base}/participants", retry_on=())
    assert {p["user_id"] for p in participants["items"]} == {ids["kari"], ids["ola"], ids["per"]}

    # The owner sees who has looked at her plan.
    log = await system.call("kari", "GET", f"{base}/access-log")
    assert {entry["user"]["id"] for entry in log["items"]} >= {ids["kari"], ids["per"]}

    # Two replicas of everything, and still: every event relayed once, every alert sent once.
    await asyncio.sleep(1)
    ids_seen = Counter(e["id"] for e in event_tap.events)
    assert ids_seen and max(ids_seen.values()) == 1
    # Each person: one code per login and one alert.
    assert len(system.sms.messages_to("+4791000001")) == 2
    assert len(system.sms.messages_to("+4791000003")) == 2
    assert len(system.smtp.messages_to("ola@example.no")) == 2
    assert len(system.smtp.messages_to("kari@example.no")) == 1
