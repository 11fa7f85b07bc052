"""The notifier's connections under load: SMTP connections kept open between messages (and given up
when the server drops them), and database connections of its own for codes."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator, Iterator
from typing import Any

import pytest

from tests.servers import SmsGateway, SmtpServer, running_smtp
from tests.test_notifier_events import EMAIL, Notifier, StartNotifier, otp_data, start_notifier  # noqa: F401

IDLE_TIMEOUT = 0.5  # seconds the SMTP server below keeps an idle connection open


class CountingSmtpServer(SmtpServer):
    """The tests' SMTP server, noting which connection (the client's address) each message came on."""

    def __init__(self) -> None:
        super().__init__()
        self.peers: list[Any] = []

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        self.peers.append(session.peer)
        return await super().handle_DATA(server, session, envelope)

    @property
    def connections(self) -> int:
        return len(set(self.peers))


@pytest.fixture
def counting_smtp() -> Iterator[CountingSmtpServer]:
    """Closes a connection idle for IDLE_TIMEOUT seconds, as a mail server does after a while."""
    with running_smtp(CountingSmtpServer(), timeout=IDLE_TIMEOUT) as server:
        yield server


class DroppingProxy:
    """A TCP proxy to the SMTP server that, once armed, cuts the connection the next command comes on
    without passing it on: a server that closed an idle connection just as it was used again."""

    def __init__(self, port: int) -> None:
        self.target_port = port
        self.port = 0
        self.armed = False
        self._server: asyncio.Server | None = None
        self._tasks: set[asyncio.Task[None]] = set()

    async def start(self) -> None:
        self._server = await asyncio.start_server(self._handle, "127.0.0.1", 0)
        self.port = self._server.sockets[0].getsockname()[1]

    async def stop(self) -> None:
        assert self._server is not None
        self._server.close()
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)

    async def _handle(self, client_reader: asyncio.StreamReader, client_writer: asyncio.StreamWriter) -> None:
        server_reader, server_writer = await asyncio.open_connection("127.0.0.1", self.target_port)
        up = asyncio.create_task(self._pipe(client_reader, server_writer, cut=True))
        down = asyncio.create_task(self._pipe(server_reader, client_writer))
        self._tasks |= {up, down}
        await asyncio.wait({up, down}, return_when=asyncio.FIRST_COMPLETED)
        for writer in (client_writer, server_writer):
            writer.close()

    async def _pipe(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, cut: bool = False
                    ) -> None:
        with contextlib.suppress(ConnectionError, OSError):
            while data := await reader.read(65536):
                if cut and self.armed:
                    self.armed = False
                    return
                writer.write(data)
                await writer.drain()


@pytest.fixture
async def dropping_proxy(counting_smtp: CountingSmtpServer) -> AsyncIterator[DroppingProxy]:
    proxy = DroppingProxy(counting_smtp.port)
    await proxy.start()
    yield proxy
    await proxy.stop()


async def send_codes(notifier: Notifier, count: int) -> list[str]:
    """Codes by e-mail one after the other, each delivered before the next is asked for."""
    event_ids = []
    for _ in range(count):
        event_id = await notifier.publish("otp.requested", otp_data("email", EMAIL))
        assert (await notifier.wait_delivery(event_id))["status"] == "sent"
        event_ids.append(event_id)
    return event_ids


@pytest.mark.parametrize(("kept_open", "connections"), [("4", 1), ("0", 5)])
async def test_smtp_connections_are_kept_open_between_messages(
        start_notifier: StartNotifier, counting_smtp: CountingSmtpServer,  # noqa: F811
        kept_open: str, connections: int) -> None:
    notifier = await start_notifier(**counting_smtp.env(SMTP_CONNECTIONS=kept_open))
    await send_codes(notifier, 5)

    assert len(counting_smtp.messages) == 5
    assert counting_smtp.connections == connections


async def test_a_connection_the_server_closed_while_idle_is_replaced(
        start_notifier: StartNotifier, counting_smtp: CountingSmtpServer) -> None:  # noqa: F811
    notifier = await start_notifier(**counting_smtp.env())
    await send_codes(notifier, 1)
    await asyncio.sleep(IDLE_TIMEOUT * 3)  # the server has hung up by now

    [event_id] = await send_codes(notifier, 1)
    assert [a["outcome"] for a in await notifier.attempts(event_id)] == ["sent"]
    assert counting_smtp.connections == 2


async def test_a_connection_dropped_as_it_is_used_again_is_retried_at_once_on_a_new_one(
        start_notifier: StartNotifier, counting_smtp: CountingSmtpServer,  # noqa: F811
        dropping_proxy: DroppingProxy) -> None:
    notifier = await start_notifier(**counting_smtp.env(SMTP_PORT=str(dropping_proxy.port)))
    await send_codes(notifier, 1)
    dropping_proxy.armed = True

    [event_id] = await send_codes(notifier, 1)
    # No failed attempt, no pause for a retry: nothing had been handed over on the dropped connection.
    assert [a["outcome"] for a in await notifier.attempts(event_id)] == ["sent"]
    assert not dropping_proxy.armed and len(counting_smtp.messages) == 2
    assert counting_smtp.connections == 2


async def test_a_code_goes_out_while_alert_work_holds_every_main_database_connection(
        start_notifier: StartNotifier, sms_gateway: SmsGateway) -> None:  # noqa: F811
    notifier = await start_notifier(**sms_gateway.env(DB_POOL_MIN="2", DB_POOL_MAX="2"))
    held = [await notifier.pool.acquire() for _ in range(2)]
    try:
        started = time.monotonic()
        data = otp_data()
        await notifier.publish("otp.requested", data)
        [sms] = await sms_gateway.wait_for(1, timeout=5)
        assert data["code"] in sms.text
        assert time.monotonic() - started < 2
    finally:
        for conn in held:
            await notifier.pool.release(conn)
