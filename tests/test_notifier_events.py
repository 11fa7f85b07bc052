"""The notifier against real PostgreSQL, RabbitMQ and loopback SMTP / SMS gateway: codes, contacts, logs."""

from __future__ import annotations

import asyncio
import json
import logging
import re
import secrets
import socket
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import aio_pika
import asyncpg
import pytest
from aio_pika.abc import AbstractChannel, AbstractExchange, ExchangeType
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer

from services.common.logging import JsonFormatter, configure_logging
from services.common.web import CONSUMERS, DB, METRICS
from services.notifier.app import create_app
from services.notifier.config import Settings
from services.notifier.events import OTP_QUEUE, QUEUES, USERS_QUEUE
from tests.servers import SmsGateway, SmtpServer, find_code, wait_until

FINAL = ("sent", "failed", "expired")
PHONE = "+4791234567"
EMAIL = "kari.nordmann@example.no"
# The loggers configure_logging quiets, restored after a test that calls it.
NOISY_LOGGERS = ("aio_pika", "aiormq", "asyncio", "aiohttp.access", "aiosmtplib", "mail.log")


def new_code() -> str:
    # Eight digits: unlikely to turn up by chance in an id or a timestamp of a log line.
    return f"{secrets.randbelow(10**8):08d}"


def otp_data(channel: str = "sms", destination: str = PHONE, *, code: str | None = None,
             expires_in: float = 120, user_id: str | None = None) -> dict[str, Any]:
    return {
        "challenge_id": str(uuid.uuid4()),
        "user_id": user_id or str(uuid.uuid4()),
        "channel": channel,
        "destination": destination,
        "code": code or new_code(),
        "expires_at": iso(datetime.now(UTC) + timedelta(seconds=expires_in)),
    }


def user_data(user_id: str, **changes: Any) -> dict[str, Any]:
    return {"user_id": user_id, "display_name": "Kari Nordmann", "email": EMAIL, "phone": PHONE,
            "notify_channel": "sms", "locale": "nb", **changes}


def iso(when: datetime) -> str:
    return when.astimezone(UTC).isoformat().replace("+00:00", "Z")


@dataclass
class Notifier:
    """A running notifier app, and a publisher on the test's exchange."""

    app: web.Application
    client: TestClient
    env: dict[str, str]
    channel: AbstractChannel
    exchange: AbstractExchange

    @property
    def pool(self) -> asyncpg.Pool:
        return self.app[DB]

    async def publish(self, type_: str, data: dict[str, Any], *, event_id: str | None = None,
                      occurred_at: datetime | None = None) -> str:
        event_id = event_id or str(uuid.uuid4())
        envelope = {"id": event_id, "type": type_, "occurred_at": iso(occurred_at or datetime.now(UTC)),
                    "data": data}
        await self.publish_raw(type_, json.dumps(envelope).encode(), event_id)
        return event_id

    async def publish_raw(self, routing_key: str, body: bytes, message_id: str | None = None) -> None:
        message = aio_pika.Message(body, message_id=message_id or str(uuid.uuid4()), type=routing_key,
                                   content_type="application/json",
                                   delivery_mode=aio_pika.DeliveryMode.PERSISTENT)
        await self.exchange.publish(message, routing_key=routing_key)

    def consumed(self, queue: str, outcome: str = "handled") -> float:
        """Events taken from `queue` with `outcome`, as the common consumer counts them."""
        return sum(
            sample.value
            for metric in self.app[METRICS].registry.collect()
            for sample in metric.samples
            if sample.name == "events_consumed_total"
            and sample.labels.get("queue") == queue and sample.labels.get("outcome") == outcome
        )

    async def wait_consumed(self, queue: str, count: int, outcome: str = "handled",
                            timeout: float = 10.0) -> None:
        await wait_until(lambda: self.consumed(queue, outcome) >= count, timeout,
                         f"{count} event(s) {outcome} from {queue}")

    async def wait_delivery(self, event_id: str, timeout: float = 10.0) -> asyncpg.Record:
        """The delivery of `event_id` once it is finished (sent, failed or expired)."""
        deadline = asyncio.get_running_loop().time() + timeout
        while True:
            row = await self.pool.fetchrow("select * from deliveries where event_id = $1", event_id)
            if row is not None and row["status"] in FINAL:
                return row
            if asyncio.get_running_loop().time() > deadline:
                raise TimeoutError(f"delivery of {event_id} not finished: {row and row['status']}")
            await asyncio.sleep(0.02)

    async def attempts(self, event_id: str) -> list[asyncpg.Record]:
        return await self.pool.fetch(
            "select * from delivery_attempts where event_id = $1 order by attempt", event_id
        )

    async def dead_letters(self, count: int, timeout: float = 10.0) -> list[bytes]:
        queue = await self.channel.declare_queue(self.env["AMQP_QUEUE_PREFIX"] + "notifier.dead",
                                                 passive=True)
        bodies: list[bytes] = []
        deadline = asyncio.get_running_loop().time() + timeout
        while len(bodies) < count:
            message = await queue.get(no_ack=True, fail=False)
            if message is not None:
                bodies.append(message.body)
            elif asyncio.get_running_loop().time() > deadline:
                raise TimeoutError(f"{len(bodies)} of {count} dead letters")
            else:
                await asyncio.sleep(0.02)
        return bodies


StartNotifier = Callable[..., Awaitable[Notifier]]


@pytest.fixture
async def start_notifier(service_env: Callable[..., dict[str, str]], tmp_path: Path
                         ) -> AsyncIterator[StartNotifier]:
    """Start the notifier app with short retry pauses; `overrides` are environment variables."""
    clients: list[TestClient] = []
    connections: list[aio_pika.abc.AbstractConnection] = []

    async def start(**overrides: str) -> Notifier:
        env = service_env("notifier", **{
            "DEV_OUTBOX_DIR": str(tmp_path / "outbox"),
            "DELIVERY_RETRY_INITIAL_SECONDS": "0.05",
            "DELIVERY_RETRY_MAX_SECONDS": "0.2",
            **overrides,
        })
        app = create_app(Settings.from_env(env))
        client = TestClient(TestServer(app, host="127.0.0.1"))
        await client.start_server()
        clients.append(client)
        await wait_until(lambda: len(app[CONSUMERS]) == len(QUEUES), 15, "the notifier's consumers")
        connection = await aio_pika.connect(env["AMQP_URL"])
        connections.append(connection)
        channel = await connection.channel()
        exchange = await channel.declare_exchange(env["AMQP_EXCHANGE"], ExchangeType.TOPIC, durable=True)
        return Notifier(app, client, env, channel, exchange)

    yield start
    for client in clients:
        await client.close()
    for connection in connections:
        await connection.close()


# --- one-time codes by e-mail and SMS -------------------------------------------------------------

async def test_code_by_email_is_delivered_via_smtp(start_notifier: StartNotifier,
                                                   smtp_server: SmtpServer) -> None:
    notifier = await start_notifier(**smtp_server.env())
    data = otp_data("email", EMAIL)
    event_id = await notifier.publish("otp.requested", data)

    [mail] = await smtp_server.wait_for(1)
    assert mail.to == EMAIL
    assert mail.subject == "Engangskode for Samhandling"
    assert find_code(mail.text) == data["code"]
    assert mail.text.startswith(f"Din engangskode for Samhandling er {data['code']}. Den gjelder til ")
    assert "no-reply@samhandling.local" in mail.sender
    delivery = await notifier.wait_delivery(event_id)
    assert (delivery["status"], delivery["kind"], delivery["channel"]) == ("sent", "otp", "email")
    [attempt] = await notifier.attempts(event_id)
    assert (attempt["attempt"], attempt["outcome"], attempt["transport"]) == (1, "sent", "smtp")
    stored = json.dumps([dict(delivery), dict(attempt)], default=str)
    assert data["code"] not in stored and EMAIL not in stored
    assert attempt["destination_masked"] == "k***@example.no"


async def test_code_by_sms_is_delivered_via_gateway_with_bearer_token(
        start_notifier: StartNotifier, sms_gateway: SmsGateway) -> None:
    notifier = await start_notifier(**sms_gateway.env())
    data = otp_data("sms", PHONE)
    event_id = await notifier.publish("otp.requested", data)

    [sms] = await sms_gateway.wait_for(1)
    assert sms.to == PHONE and find_code(sms.text) == data["code"]
    assert sms_gateway.requests[0].authorization == "Bearer test-sms-token"
    assert set(sms_gateway.requests[0].body) == {"to", "text"}
    delivery = await notifier.wait_delivery(event_id)
    assert delivery["status"] == "sent" and delivery["destination_masked"] == "+47******67"


async def test_wrong_gateway_token_is_refused_and_recorded_as_failed(
        start_notifier: StartNotifier, sms_gateway: SmsGateway) -> None:
    notifier = await start_notifier(**sms_gateway.env(SMS_GATEWAY_TOKEN="not-the-token"))
    event_id = await notifier.publish("otp.requested", otp_data())

    delivery = await notifier.wait_delivery(event_id)
    assert delivery["status"] == "failed"
    assert [r.status for r in sms_gateway.requests] == [401]
    assert sms_gateway.messages == []


async def test_smtp_451_then_250_delivers_exactly_once(start_notifier: StartNotifier,
                                                       smtp_server: SmtpServer) -> None:
    smtp_server.respond(451, then=250)
    notifier = await start_notifier(**smtp_server.env())
    event_id = await notifier.publish("otp.requested", otp_data("email", EMAIL))

    assert (await notifier.wait_delivery(event_id))["status"] == "sent"
    await notifier.wait_consumed(OTP_QUEUE, 1)
    assert len(smtp_server.messages) == 1 and smtp_server.attempts == 2
    attempts = await notifier.attempts(event_id)
    assert [(a["outcome"], a["status_code"]) for a in attempts] == [
        ("temporary_failure", 451), ("sent", None)]
    assert attempts[0]["error"] == "SMTPDataError"


async def test_smtp_550_is_recorded_as_failed_and_not_retried(start_notifier: StartNotifier,
                                                              smtp_server: SmtpServer) -> None:
    smtp_server.respond(then=550)
    notifier = await start_notifier(**smtp_server.env())
    event_id = await notifier.publish("otp.requested", otp_data("email", EMAIL))

    assert (await notifier.wait_delivery(event_id))["status"] == "failed"
    await notifier.wait_consumed(OTP_QUEUE, 1)
    assert smtp_server.attempts == 1 and smtp_server.messages == []
    [attempt] = await notifier.attempts(event_id)
    assert (attempt["outcome"], attempt["status_code"]) == ("permanent_failure", 550)


async def test_smtp_login_with_username_and_password(start_notifier: StartNotifier,
                                                     smtp_server: SmtpServer) -> None:
    # Refused first: a connection logged in is kept open for the next message, so a password
    # changed on the server would only show on a new connection.
    smtp_server.credentials = ("notifier", "another")
    notifier = await start_notifier(**smtp_server.env(SMTP_USERNAME="notifier", SMTP_PASSWORD="s3cret"))
    bad = await notifier.publish("otp.requested", otp_data("email", EMAIL))
    assert (await notifier.wait_delivery(bad))["status"] == "failed"
    [attempt] = await notifier.attempts(bad)
    assert (attempt["error"], attempt["status_code"]) == ("SMTPAuthenticationError", 535)

    smtp_server.credentials = ("notifier", "s3cret")
    good = await notifier.publish("otp.requested", otp_data("email", EMAIL))
    assert (await notifier.wait_delivery(good))["status"] == "sent"
    assert len(smtp_server.messages) == 1


async def test_gateway_500_then_200_delivers_exactly_once(start_notifier: StartNotifier,
                                                          sms_gateway: SmsGateway) -> None:
    sms_gateway.respond(500, then=200)
    notifier = await start_notifier(**sms_gateway.env())
    event_id = await notifier.publish("otp.requested", otp_data())

    assert (await notifier.wait_delivery(event_id))["status"] == "sent"
    await notifier.wait_consumed(OTP_QUEUE, 1)
    assert [r.status for r in sms_gateway.requests] == [500, 200]
    assert len(sms_gateway.messages) == 1
    outcomes = [(a["outcome"], a["status_code"]) for a in await notifier.attempts(event_id)]
    assert outcomes == [("temporary_failure", 500), ("sent", None)]


async def test_gateway_400_is_recorded_as_failed_and_not_retried(start_notifier: StartNotifier,
                                                                 sms_gateway: SmsGateway) -> None:
    sms_gateway.respond(then=400)
    notifier = await start_notifier(**sms_gateway.env())
    event_id = await notifier.publish("otp.requested", otp_data())

    assert (await notifier.wait_delivery(event_id))["status"] == "failed"
    await notifier.wait_consumed(OTP_QUEUE, 1)
    assert [r.status for r in sms_gateway.requests] == [400]
    [attempt] = await notifier.attempts(event_id)
    assert (attempt["outcome"], attempt["status_code"], attempt["error"]) == (
        "permanent_failure", 400, "http_400")


async def test_hanging_gateway_is_abandoned_and_retried(start_notifier: StartNotifier,
                                                        sms_gateway: SmsGateway) -> None:
    sms_gateway.respond("hang", then=200)
    notifier = await start_notifier(**sms_gateway.env(SMS_TIMEOUT_SECONDS="0.3"))
    event_id = await notifier.publish("otp.requested", otp_data())

    assert (await notifier.wait_delivery(event_id))["status"] == "sent"
    assert len(sms_gateway.messages) == 1
    attempts = await notifier.attempts(event_id)
    assert [(a["outcome"], a["error"]) for a in attempts] == [("temporary_failure", "timeout"),
                                                              ("sent", None)]
    abandoned_after = (attempts[0]["finished_at"] - attempts[0]["started_at"]).total_seconds()
    assert 0.25 <= abandoned_after < 2


async def test_unreachable_gateway_is_a_temporary_failure(start_notifier: StartNotifier) -> None:
    with socket.socket() as sock:  # a port that nothing listens on
        sock.bind(("127.0.0.1", 0))
        closed = sock.getsockname()[1]
    notifier = await start_notifier(SMS_GATEWAY_URL=f"http://127.0.0.1:{closed}/sms", SMS_GATEWAY_TOKEN="x")
    event_id = await notifier.publish("otp.requested", otp_data(expires_in=1.5))

    assert (await notifier.wait_delivery(event_id))["status"] == "expired"
    attempts = await notifier.attempts(event_id)
    assert {a["outcome"] for a in attempts[:-1]} == {"temporary_failure"} and len(attempts) >= 2
    assert attempts[0]["error"] == "ClientConnectorError"


async def test_a_slow_delivery_does_not_hold_back_the_next_code(start_notifier: StartNotifier,
                                                               sms_gateway: SmsGateway) -> None:
    sms_gateway.respond("hang", then=200)
    notifier = await start_notifier(**sms_gateway.env(SMS_TIMEOUT_SECONDS="5"))
    await notifier.publish("otp.requested", otp_data())
    await sms_gateway.wait_for_requests(1)
    second = otp_data()
    await notifier.publish("otp.requested", second)

    [sms] = await sms_gateway.wait_for(1, timeout=2)
    assert find_code(sms.text) == second["code"]
    assert sms_gateway.requests[0].status is None  # the first is still hanging


# --- expiry and duplicates ------------------------------------------------------------------------

async def test_an_expired_code_is_never_sent(start_notifier: StartNotifier,
                                             sms_gateway: SmsGateway) -> None:
    notifier = await start_notifier(**sms_gateway.env())
    event_id = await notifier.publish("otp.requested", otp_data(expires_in=-1))

    assert (await notifier.wait_delivery(event_id))["status"] == "expired"
    await notifier.wait_consumed(OTP_QUEUE, 1)
    assert sms_gateway.requests == []
    [attempt] = await notifier.attempts(event_id)
    assert (attempt["attempt"], attempt["outcome"]) == (1, "expired")


async def test_a_code_expiring_during_retries_stops_being_retried(start_notifier: StartNotifier,
                                                                  sms_gateway: SmsGateway) -> None:
    sms_gateway.respond(then=503)
    notifier = await start_notifier(**sms_gateway.env())
    data = otp_data(expires_in=2.0)  # room for several tries even on a loaded machine
    event_id = await notifier.publish("otp.requested", data)

    assert (await notifier.wait_delivery(event_id))["status"] == "expired"
    await notifier.wait_consumed(OTP_QUEUE, 1)
    tried = len(sms_gateway.requests)
    assert tried >= 2
    expires_at = datetime.fromisoformat(data["expires_at"]).timestamp()
    assert all(r.at < expires_at for r in sms_gateway.requests)
    attempts = await notifier.attempts(event_id)
    assert [a["outcome"] for a in attempts] == ["temporary_failure"] * tried + ["expired"]
    await asyncio.sleep(0.3)
    assert len(sms_gateway.requests) == tried


async def test_the_same_event_delivered_twice_sends_once(start_notifier: StartNotifier,
                                                         sms_gateway: SmsGateway,
                                                         caplog: pytest.LogCaptureFixture) -> None:
    # The first copy is still retrying when the second arrives: the second must wait, not send.
    caplog.set_level(logging.INFO, logger="services.notifier")
    sms_gateway.respond(500, 500, then=200)
    notifier = await start_notifier(**sms_gateway.env())
    data = otp_data()
    event_id = await notifier.publish("otp.requested", data)
    await notifier.publish("otp.requested", data, event_id=event_id)

    await notifier.wait_consumed(OTP_QUEUE, 2)
    await notifier.publish("otp.requested", data, event_id=event_id)  # and once more, long after
    await notifier.wait_consumed(OTP_QUEUE, 3)
    assert len(sms_gateway.messages) == 1
    assert len(await notifier.pool.fetch("select 1 from deliveries where event_id = $1", event_id)) == 1
    assert [a["outcome"] for a in await notifier.attempts(event_id)][-1] == "sent"
    messages = [r.getMessage() for r in caplog.records]
    assert "duplicate event left to the consumer that has it" in messages  # the copy that waited
    assert "duplicate event ignored" in messages  # the copy that came after


async def test_a_stopping_replica_hands_a_retrying_code_to_another(start_notifier: StartNotifier,
                                                                   sms_gateway: SmsGateway) -> None:
    sms_gateway.respond(then=503)
    first = await start_notifier(**sms_gateway.env())
    event_id = await first.publish("otp.requested", otp_data())
    await sms_gateway.wait_for_requests(2)

    started = asyncio.get_running_loop().time()
    await first.client.close()
    assert asyncio.get_running_loop().time() - started < 3
    sms_gateway.respond(then=200)
    second = await start_notifier(**sms_gateway.env())
    assert (await second.wait_delivery(event_id))["status"] == "sent"
    assert len(sms_gateway.messages) == 1
    outcomes = [a["outcome"] for a in await second.attempts(event_id)]
    assert outcomes[-1] == "sent" and set(outcomes[:-1]) == {"temporary_failure"}


# --- dev outbox and locale ------------------------------------------------------------------------

async def test_without_smtp_or_gateway_messages_go_to_the_dev_outbox(start_notifier: StartNotifier,
                                                                     tmp_path: Path) -> None:
    notifier = await start_notifier()
    mail, sms = otp_data("email", EMAIL), otp_data("sms", PHONE)
    for data in (mail, sms):
        assert (await notifier.wait_delivery(await notifier.publish("otp.requested", data)))["status"] \
            == "sent"

    files = sorted((tmp_path / "outbox").glob("*.txt"))
    assert len(files) == 2
    by_channel = {re.match(r"^\d{8}T\d{6}\.\d{6}Z_(email|sms)_", f.name).group(1): f for f in files}
    assert EMAIL in by_channel["email"].name and PHONE in by_channel["sms"].name
    email_text = by_channel["email"].read_text()
    assert f"To: {EMAIL}\n" in email_text and "Subject: Engangskode for Samhandling\n" in email_text
    assert f"er {mail['code']}." in email_text
    sms_text = by_channel["sms"].read_text()
    assert f"To: {PHONE}\n" in sms_text and f"er {sms['code']}." in sms_text
    assert not list((tmp_path / "outbox").glob(".*"))  # no half-written files left behind


@pytest.mark.parametrize(("locale", "start"), [
    ("en", "Your one-time code for Samhandling is "),
    ("nn", "Eingongskoden din for Samhandling er "),
    ("xx", "Din engangskode for Samhandling er "),
])
async def test_the_code_is_written_in_the_users_locale(start_notifier: StartNotifier,
                                                       sms_gateway: SmsGateway, locale: str,
                                                       start: str) -> None:
    notifier = await start_notifier(**sms_gateway.env())
    user_id = str(uuid.uuid4())
    await notifier.publish("user.created", user_data(user_id, locale=locale))
    await notifier.wait_consumed(USERS_QUEUE, 1)
    data = otp_data(user_id=user_id)
    await notifier.publish("otp.requested", data)

    [sms] = await sms_gateway.wait_for(1)
    assert sms.text.startswith(start + data["code"])


# --- contacts -------------------------------------------------------------------------------------

async def test_contacts_follow_user_events_ignoring_stale_and_duplicate_ones(
        start_notifier: StartNotifier) -> None:
    notifier = await start_notifier()
    user_id = str(uuid.uuid4())
    now = datetime.now(UTC)

    await notifier.publish("user.created", user_data(user_id), occurred_at=now)
    await notifier.wait_consumed(USERS_QUEUE, 1)
    updated = await notifier.publish("user.updated", user_data(user_id, locale="en", phone=None),
                                     occurred_at=now + timedelta(seconds=2))
    await notifier.wait_consumed(USERS_QUEUE, 2)
    await notifier.publish("user.updated", user_data(user_id, locale="nn"),
                           occurred_at=now + timedelta(seconds=1))  # stale: occurred before the last
    await notifier.publish("user.updated", user_data(user_id, locale="nn"), event_id=updated,
                           occurred_at=now + timedelta(seconds=3))  # a duplicate of the last
    await notifier.wait_consumed(USERS_QUEUE, 4)

    row = await notifier.pool.fetchrow("select * from contacts where user_id = $1", uuid.UUID(user_id))
    assert (row["locale"], row["phone"], row["email"]) == ("en", None, EMAIL)
    assert (row["display_name"], row["notify_channel"]) == ("Kari Nordmann", "sms")
    assert str(row["source_event_id"]) == updated
    assert await notifier.pool.fetchval("select count(*) from processed_events") == 3


async def test_malformed_events_go_to_dead_letters_and_consuming_goes_on(
        start_notifier: StartNotifier, sms_gateway: SmsGateway) -> None:
    notifier = await start_notifier(**sms_gateway.env())
    await notifier.publish_raw("otp.requested", b"{not json")
    await notifier.publish("otp.requested", otp_data(channel="fax"))
    await notifier.publish("otp.requested", {**otp_data(), "expires_at": "soon"})
    await notifier.publish("user.created", {"user_id": "not-a-uuid"})
    good = await notifier.publish("otp.requested", otp_data())

    assert (await notifier.wait_delivery(good))["status"] == "sent"
    dead = await notifier.dead_letters(4)
    assert b"{not json" in dead
    await notifier.wait_consumed(OTP_QUEUE, 3, outcome="dead_lettered")
    await notifier.wait_consumed(USERS_QUEUE, 1, outcome="dead_lettered")
    assert len(sms_gateway.messages) == 1


# --- logs, metrics, operational routes ------------------------------------------------------------

@pytest.fixture
def json_logs(caplog: pytest.LogCaptureFixture) -> Iterator[pytest.LogCaptureFixture]:
    """The service's own logging setup (JSON lines, DEBUG), with every record also kept by caplog."""
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    levels = {name: logging.getLogger(name).level for name in NOISY_LOGGERS}
    configure_logging("notifier", "DEBUG")
    root.addHandler(caplog.handler)
    yield caplog
    root.handlers[:] = handlers
    root.setLevel(level)
    for name, saved in levels.items():
        logging.getLogger(name).setLevel(saved)


async def test_no_log_record_carries_a_code_or_a_full_address(
        start_notifier: StartNotifier, smtp_server: SmtpServer, sms_gateway: SmsGateway,
        json_logs: pytest.LogCaptureFixture) -> None:
    smtp_server.respond(451, then=250)
    sms_gateway.respond(500, 400, then=200)
    notifier = await start_notifier(**smtp_server.env(), **sms_gateway.env())
    cases = [otp_data("email", EMAIL), otp_data("sms", PHONE), otp_data("sms", PHONE),
             otp_data("sms", PHONE, expires_in=-1)]
    for data in cases:
        await notifier.wait_delivery(await notifier.publish("otp.requested", data))
    await notifier.publish("otp.requested", {**otp_data(), "channel": "fax"})
    await notifier.wait_consumed(OTP_QUEUE, 1, outcome="dead_lettered")

    formatter = JsonFormatter("notifier")
    lines = [formatter.format(record) + repr(record.__dict__) for record in json_logs.records]
    assert any('"msg": "delivery attempt"' in line for line in lines)
    for secret in [data["code"] for data in cases] + [EMAIL, PHONE]:
        assert not [line for line in lines if secret in line], secret


async def test_operational_routes_and_delivery_metrics(start_notifier: StartNotifier,
                                                       sms_gateway: SmsGateway) -> None:
    notifier = await start_notifier(**sms_gateway.env())
    client = notifier.client
    await notifier.wait_delivery(await notifier.publish("otp.requested", otp_data()))

    assert (await client.get("/healthz")).status == 200
    ready = await client.get("/readyz")
    assert ready.status == 200, await ready.text()
    document = await (await client.get("/openapi.json")).json()
    assert set(document["paths"]) == {"/healthz", "/readyz", "/metrics", "/openapi.json"}
    metrics = await (await client.get("/metrics")).text()
    assert 'notifier_deliveries_total{channel="sms",kind="otp",outcome="sent"} 1.0' in metrics
    assert 'notifier_otp_delivery_seconds_count{channel="sms"} 1.0' in metrics
