"""Message alerts through faults: RabbitMQ unreachable, the notifier stopped, SMTP and the SMS gateway
failing for a while, the same event delivered twice. Nothing is lost, nothing is sent twice."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Callable
from urllib.parse import urlsplit

from services.notifier.events import MESSAGES_QUEUE
from tests.messages_support import (  # noqa: F401  (fixtures)
    PUBLIC_URL,
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
from tests.netproxy import TcpProxy
from tests.servers import SmsGateway, SmtpServer, wait_until
from tests.support import AuthHarness, EventTap

KARI_PHONE, PER_EMAIL = "+4791234567", "per@example.no"


async def test_messages_sent_while_rabbitmq_is_unreachable_are_alerted_when_it_is_back(
        auth: AuthHarness, publisher: Publisher, start_notifier: StartNotifier,
        start_messages: StartMessages, sms_gateway: SmsGateway, smtp_server: SmtpServer,
        service_env: Callable[..., dict[str, str]]) -> None:
    # Only the messages service reaches RabbitMQ through the proxy; the real server is shared.
    broker = urlsplit(service_env("messages")["AMQP_URL"])
    proxy = TcpProxy(broker.hostname or "127.0.0.1", broker.port or 5672)
    await proxy.start()
    scene = None
    try:
        scene = await make_alert_scene(
            auth, publisher, start_notifier, start_messages, {**sms_gateway.env(), **smtp_server.env()},
            {"AMQP_URL": f"amqp://{broker.username}:{broker.password}@127.0.0.1:{proxy.port}/"})
        cast = scene.cast
        await proxy.cut()
        await scene.messages.sent(cast.tokens["ola"], scene.plan_id, [cast["kari"], cast["per"]])
        await scene.messages.sent(cast.tokens["per"], scene.plan_id, [cast["kari"]])
        await asyncio.sleep(1.0)
        assert await scene.messages.pool.fetchval("select count(*) from outbox") == 2
        assert alerts_in(sms_gateway.messages + smtp_server.messages) == []

        await proxy.restore()
        [kari] = alerts_in(await sms_gateway.wait_for(2, to=KARI_PHONE, timeout=30))
        [per] = alerts_in(await smtp_server.wait_for(2, to=PER_EMAIL, timeout=30))
        assert "new message" in kari.text and "ny melding" in per.text
        assert await scene.messages.pool.fetchval("select count(*) from outbox") == 0
    finally:
        if scene is not None:
            await scene.messages.client.close()  # while it can still say goodbye to RabbitMQ
        await proxy.cut()


async def test_messages_sent_while_the_notifier_is_stopped_are_alerted_when_it_starts(
        auth: AuthHarness, publisher: Publisher, start_notifier: StartNotifier,
        start_messages: StartMessages, sms_gateway: SmsGateway, smtp_server: SmtpServer) -> None:
    env = {**sms_gateway.env(), **smtp_server.env()}
    scene = await make_alert_scene(auth, publisher, start_notifier, start_messages, env)
    cast = scene.cast
    await scene.notifier.stop()
    await scene.messages.sent(cast.tokens["ola"], scene.plan_id, [cast["kari"], cast["per"]])
    await scene.messages.sent(cast.tokens["ola"], scene.plan_id, [cast["kari"]])
    await asyncio.sleep(1.0)
    assert alerts_in(sms_gateway.messages + smtp_server.messages) == []

    restarted = await start_notifier(**env)
    [kari] = alerts_in(await sms_gateway.wait_for(2, to=KARI_PHONE, timeout=20))
    [per] = alerts_in(await smtp_server.wait_for(2, to=PER_EMAIL, timeout=20))
    assert kari.text.startswith("You have a new message") and per.subject == "Ny melding i Samhandling"
    # The second message came while the first was unread: coalesced into the window (15 min here).
    await wait_until(lambda: consumed(restarted.app, MESSAGES_QUEUE) >= 2, 10, "both events")
    await asyncio.sleep(0.5)
    assert len(alerts_in(sms_gateway.messages_to(KARI_PHONE))) == 1


async def test_smtp_451_and_gateway_500_are_retried_until_the_alert_is_accepted(
        auth: AuthHarness, publisher: Publisher, start_notifier: StartNotifier,
        start_messages: StartMessages, sms_gateway: SmsGateway, smtp_server: SmtpServer) -> None:
    scene = await make_alert_scene(auth, publisher, start_notifier, start_messages,
                                   {**sms_gateway.env(), **smtp_server.env()})
    cast = scene.cast
    smtp_server.respond(451, 451, then=250)
    sms_gateway.respond(500, then=200)
    await scene.messages.sent(cast.tokens["ola"], scene.plan_id, [cast["kari"], cast["per"]])

    assert len(alerts_in(await sms_gateway.wait_for(2, to=KARI_PHONE))) == 1
    assert len(alerts_in(await smtp_server.wait_for(2, to=PER_EMAIL))) == 1
    for user, expected in ((cast["kari"], [("temporary_failure", 500), ("sent", None)]),
                           (cast["per"], [("temporary_failure", 451)] * 2 + [("sent", None)])):
        delivery = await scene.notifier.finished_alert(user)
        assert delivery["status"] == "sent" and len(await scene.notifier.alert_deliveries(user)) == 1
        attempts = await scene.notifier.attempts(delivery["id"])
        assert [(a["outcome"], a["status_code"]) for a in attempts] == expected
        assert {a["kind"] for a in attempts} == {"alert"}
    assert [r.status for r in sms_gateway.requests if PUBLIC_URL in str(r.body)] == [500, 200]


async def test_a_duplicate_message_created_gives_one_alert(
        auth: AuthHarness, publisher: Publisher, start_notifier: StartNotifier,
        start_messages: StartMessages, sms_gateway: SmsGateway, smtp_server: SmtpServer,
        event_tap: EventTap) -> None:
    scene = await make_alert_scene(auth, publisher, start_notifier, start_messages,
                                   {**sms_gateway.env(), **smtp_server.env()})
    cast = scene.cast
    message = await scene.messages.sent(cast.tokens["ola"], scene.plan_id, [cast["kari"]])
    [event] = await event_tap.wait_for("message.created", lambda e: e["data"]["message_id"] == message["id"])
    # Two more copies of the same event: one probably while the first is handled, one after.
    await publisher.publish_envelope(event)
    await sms_gateway.wait_for(2, to=KARI_PHONE)
    await publisher.publish_envelope(event)

    await wait_until(lambda: consumed(scene.notifier.app, MESSAGES_QUEUE) >= 3, 10, "three copies")
    await asyncio.sleep(0.5)
    assert len(alerts_in(sms_gateway.messages_to(KARI_PHONE))) == 1
    assert len(await scene.notifier.alert_deliveries(cast["kari"])) == 1
    assert await scene.notifier.pool.fetchval(
        "select count(*) from processed_events where event_id = $1", uuid.UUID(event["id"])) == 1
