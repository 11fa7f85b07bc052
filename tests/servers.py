"""Real loopback servers for tests: an SMTP server (aiosmtpd) and the contract's SMS gateway (aiohttp).

Both record what they accepted as `Received(to, text, ...)`, can be scripted to fail, and offer
`await server.wait_for(n)`. Typical use:

    smtp_server.respond(451, then=250)           # first message refused for now, then accepted
    env = service_env("notifier", **smtp_server.env(), **sms_gateway.env())
    mail = (await smtp_server.wait_for(1))[0]     # mail.to, mail.subject, mail.text
    code = find_code(mail.text)
"""

from __future__ import annotations

import asyncio
import contextlib
import email
import email.policy
import logging
import re
import threading
import time
from collections import deque
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass, field
from typing import Any, Literal, TypeVar

import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult

HANG = "hang"
SmsAnswer = int | Literal["hang"]

SMTP_REPLIES = {
    250: "250 2.0.0 OK: queued",
    421: "421 4.3.2 Service not available, closing channel",
    450: "450 4.2.1 Mailbox busy, try again later",
    451: "451 4.3.0 Local error, try again later",
    452: "452 4.3.1 Insufficient storage",
    550: "550 5.1.1 Mailbox unavailable",
    552: "552 5.3.4 Message too big",
    554: "554 5.7.1 Rejected",
}


@dataclass(frozen=True)
class Received:
    """One message a server accepted."""

    to: str
    text: str
    subject: str = ""
    sender: str = ""
    recipients: tuple[str, ...] = ()
    at: float = field(default_factory=time.time)


def find_code(text: str) -> str | None:
    """The one-time code in a message text: the first run of 4 to 12 digits (times are 2+2 digits)."""
    match = re.search(r"(?<![0-9:])[0-9]{4,12}(?![0-9:])", text)
    return match.group(0) if match else None


async def wait_until(predicate: Callable[[], bool], timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise TimeoutError(f"waited {timeout} s for {what}")
        await asyncio.sleep(0.01)


class Script:
    """Answers to give, one per request in order; `then` for every request after those."""

    def __init__(self, then: Any) -> None:
        self._lock = threading.Lock()
        self._queue: deque[Any] = deque()
        self._then = then

    def set(self, answers: tuple[Any, ...], then: Any) -> None:
        with self._lock:
            self._queue = deque(answers)
            self._then = then

    def next(self) -> Any:
        with self._lock:
            return self._queue.popleft() if self._queue else self._then


# --- SMTP -----------------------------------------------------------------------------------------

class SmtpServer:
    """An aiosmtpd handler (it runs in the controller's thread) recording accepted messages."""

    host = "127.0.0.1"

    def __init__(self) -> None:
        self.port = 0
        self.messages: list[Received] = []
        self.attempts = 0  # DATA commands answered, accepted or not
        self.credentials: tuple[str, str] | None = None  # set to require AUTH with these
        self._script = Script(250)
        self._lock = threading.Lock()

    def respond(self, *codes: int, then: int = 250) -> None:
        """Answer the next messages' DATA with `codes` (451, 550, ...), the ones after with `then`."""
        self._script.set(codes, then)

    def env(self, **extra: str) -> dict[str, str]:
        return {"SMTP_HOST": self.host, "SMTP_PORT": str(self.port), "SMTP_SECURITY": "none", **extra}

    def messages_to(self, address: str) -> list[Received]:
        with self._lock:
            return [m for m in self.messages if address in m.recipients]

    async def wait_for(self, count: int = 1, timeout: float = 10.0, to: str | None = None) -> list[Received]:
        """Wait until at least `count` messages (to `to`, if given) were accepted; return them all."""
        def seen() -> list[Received]:
            return self.messages_to(to) if to is not None else list(self.messages)

        await wait_until(lambda: len(seen()) >= count, timeout, f"{count} e-mail(s)")
        return seen()

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # aiosmtpd calls this
        with self._lock:
            self.attempts += 1
        code = self._script.next()
        if code != 250:
            return SMTP_REPLIES.get(code, f"{code} Scripted answer")
        message = email.message_from_bytes(envelope.content, policy=email.policy.default)
        body = message.get_body(("plain",))
        received = Received(
            to=envelope.rcpt_tos[0],
            text=body.get_content() if body is not None else "",  # type: ignore[attr-defined]
            subject=str(message.get("Subject", "")),
            sender=envelope.mail_from,
            recipients=tuple(envelope.rcpt_tos),
        )
        with self._lock:
            self.messages.append(received)
        return SMTP_REPLIES[250]

    def authenticate(self, server: Any, session: Any, envelope: Any, mechanism: str, auth_data: Any
                     ) -> AuthResult:
        expected = self.credentials
        ok = expected is None or (auth_data.login.decode(), auth_data.password.decode()) == expected
        return AuthResult(success=ok, handled=False)


class _FreePortController(Controller):
    """Listens on port 0 and learns which port it got before checking that the server answers."""

    def _trigger_server(self) -> None:
        assert self.server is not None
        self.port = self.server.sockets[0].getsockname()[1]
        super()._trigger_server()


S = TypeVar("S", bound="SmtpServer")


@contextlib.contextmanager
def running_smtp(server: S, **options: Any) -> Iterator[S]:
    """`server` listening on a free loopback port (aiosmtpd's Controller `options`) until the end."""
    # aiosmtpd logs each DATA line (message texts, codes) at debug level; this fake server's chatter
    # is not the service's, and would muddy tests that check what the services log.
    logging.getLogger("mail.log").setLevel(logging.WARNING)
    controller = _FreePortController(server, hostname=server.host, port=0, ready_timeout=10, **options)
    controller.start()
    server.port = controller.port
    try:
        yield server
    finally:
        controller.stop()


@pytest.fixture
def smtp_server() -> Iterator[SmtpServer]:
    server = SmtpServer()
    with running_smtp(server, authenticator=server.authenticate, auth_require_tls=False):
        yield server


# --- SMS gateway ----------------------------------------------------------------------------------

@dataclass(frozen=True)
class SmsRequest:
    """Any request that reached the gateway, and the status it was answered with (None: hung)."""

    authorization: str | None
    body: Any
    status: int | None
    at: float = field(default_factory=time.time)


class SmsGateway:
    """The contract's SMS gateway: POST with `Authorization: Bearer <token>` and {"to", "text"}."""

    path = "/v1/sms"

    def __init__(self, token: str = "test-sms-token") -> None:
        self.token = token
        self.url = ""
        self.messages: list[Received] = []  # accepted (2xx) only
        self.requests: list[SmsRequest] = []  # every request, in arrival order
        self._script = Script(200)
        self._release = asyncio.Event()
        self.delay = 0.0  # seconds each request takes before it is answered (a slow gateway)
        self.arrivals = 0  # requests that reached the gateway, answered or not yet

    def respond(self, *answers: SmsAnswer, then: SmsAnswer = 200) -> None:
        """Answer the next well-formed, authorised requests with `answers` (a status, or "hang" to
        never answer), the ones after with `then`."""
        self._script.set(answers, then)

    def env(self, **extra: str) -> dict[str, str]:
        return {"SMS_GATEWAY_URL": self.url, "SMS_GATEWAY_TOKEN": self.token, **extra}

    def messages_to(self, number: str) -> list[Received]:
        return [m for m in self.messages if m.to == number]

    async def wait_for(self, count: int = 1, timeout: float = 10.0, to: str | None = None) -> list[Received]:
        """Wait until at least `count` SMS (to `to`, if given) were accepted; return them all."""
        def seen() -> list[Received]:
            return self.messages_to(to) if to is not None else list(self.messages)

        await wait_until(lambda: len(seen()) >= count, timeout, f"{count} SMS")
        return seen()

    async def wait_for_requests(self, count: int = 1, timeout: float = 10.0) -> list[SmsRequest]:
        await wait_until(lambda: len(self.requests) >= count, timeout, f"{count} gateway request(s)")
        return list(self.requests)

    async def wait_for_arrivals(self, count: int, timeout: float = 10.0) -> None:
        await wait_until(lambda: self.arrivals >= count, timeout, f"{count} arrival(s)")

    async def handle(self, request: web.Request) -> web.Response:
        self.arrivals += 1
        authorization = request.headers.get("Authorization")
        try:
            body = await request.json()
        except ValueError:
            body = None
        status = self._refusal(authorization, body)
        if self.delay:
            await asyncio.sleep(self.delay)
        if status is None:
            answer = self._script.next()
            if answer == HANG:
                # Recorded before it hangs, so that a test can see the request arrive.
                self.requests.append(SmsRequest(authorization, body, None))
                await self._release.wait()
                return web.json_response({"error": "released at teardown"}, status=503)
            status = int(answer)
        self.requests.append(SmsRequest(authorization, body, status))
        if 200 <= status < 300:
            self.messages.append(Received(to=body["to"], text=body["text"], recipients=(body["to"],)))
            return web.json_response({"status": "accepted"}, status=status)
        return web.json_response({"error": f"scripted {status}"}, status=status)

    def _refusal(self, authorization: str | None, body: Any) -> int | None:
        """401 without the right bearer token, 400 without {"to", "text"}; None when all is well."""
        if authorization != f"Bearer {self.token}":
            return 401
        if not (isinstance(body, dict) and isinstance(body.get("to"), str)
                and isinstance(body.get("text"), str)):
            return 400
        return None

    def release(self) -> None:
        """Let hanging requests end (at teardown)."""
        self._release.set()


@pytest.fixture
async def sms_gateway() -> AsyncIterator[SmsGateway]:
    gateway = SmsGateway()
    app = web.Application()
    app.router.add_post(gateway.path, gateway.handle)
    server = TestServer(app, host="127.0.0.1")
    await server.start_server()
    gateway.url = str(server.make_url(gateway.path))
    try:
        yield gateway
    finally:
        gateway.release()
        await server.close()
