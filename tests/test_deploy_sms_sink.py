"""deploy/sms-sink: the stand-in SMS gateway of docker-compose.yml and the dev overlay speaks the
contract's protocol (bearer token, JSON {"to", "text"}, 2xx accepted, 4xx permanent), lists what
it received, and works with the notifier's real SMS sender."""

from __future__ import annotations

import importlib.util
import json
import threading
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType

import aiohttp
import pytest

from services.notifier.config import sms_from_env
from services.notifier.delivery import SendFailed, SmsGatewaySender
from services.notifier.domain import OutgoingMessage

SINK_PATH = Path(__file__).resolve().parent.parent / "deploy" / "sms-sink" / "sms_sink.py"
TOKEN = "sink-test-token"


def load_sink() -> ModuleType:
    spec = importlib.util.spec_from_file_location("sms_sink", SINK_PATH)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture
def sink() -> Iterator[str]:
    server = load_sink().SinkServer(("127.0.0.1", 0), TOKEN, keep=3)
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


def call(url: str, method: str = "GET", body: object = None, token: str | None = TOKEN,
         raw: bytes | None = None) -> tuple[int, bytes, str]:
    headers = {"Content-Type": "application/json"}
    if token is not None:
        headers["Authorization"] = f"Bearer {token}"
    data = raw if raw is not None else (None if body is None else json.dumps(body).encode())
    request = urllib.request.Request(  # noqa: S310 (loopback http only)
        url, data=data, method=method, headers=headers)
    try:
        with urllib.request.urlopen(request, timeout=5) as response:  # noqa: S310
            return response.status, response.read(), response.headers.get("Content-Type", "")
    except urllib.error.HTTPError as error:
        return error.code, error.read(), error.headers.get("Content-Type", "")


def test_accepts_and_lists_messages(sink: str) -> None:
    status, body, _ = call(sink + "/messages", "POST", {"to": "+4791234567", "text": "Kode: 123456"})
    assert status == 202 and json.loads(body)["id"] == 1
    call(sink + "/messages", "POST", {"to": "+4799999999", "text": "Du har en ny melding <b>"})
    status, body, _ = call(sink + "/messages", token=None)
    items = json.loads(body)["items"]
    assert [(i["to"], i["text"]) for i in items] == [
        ("+4799999999", "Du har en ny melding <b>"), ("+4791234567", "Kode: 123456")]
    status, page, content_type = call(sink + "/", token=None)
    assert status == 200 and content_type.startswith("text/html")
    assert "Kode: 123456" in page.decode()
    assert "&lt;b&gt;" in page.decode() and "<b>" not in page.decode().split("<table>")[1]


def test_keeps_only_the_newest(sink: str) -> None:
    for n in range(5):
        call(sink + "/messages", "POST", {"to": "+4791234567", "text": f"n{n}"})
    items = json.loads(call(sink + "/messages")[1])["items"]
    assert [i["text"] for i in items] == ["n4", "n3", "n2"]
    assert call(sink + "/messages", "DELETE")[0] == 204
    assert json.loads(call(sink + "/messages")[1])["items"] == []


@pytest.mark.parametrize("token", [None, "wrong", ""])
def test_refuses_a_missing_or_wrong_token(sink: str, token: str | None) -> None:
    status, _, _ = call(sink + "/messages", "POST", {"to": "+4791234567", "text": "x"}, token=token)
    assert status == 401
    assert json.loads(call(sink + "/messages")[1])["items"] == []


@pytest.mark.parametrize("raw", [b"not json", b"[]", b'{"to": "+4791234567"}', b'{"text": "x"}',
                                 b'{"to": "kari", "text": "x"}', b'{"to": "+47", "text": "x"}',
                                 b'{"to": "+4791234567", "text": ""}', b'{"to": 4791234567, "text": "x"}'])
def test_refuses_what_is_not_a_contract_request_as_permanent(sink: str, raw: bytes) -> None:
    status, _, _ = call(sink + "/messages", "POST", raw=raw)
    assert status == 400  # 4xx: the notifier gives up instead of retrying


def test_refuses_a_large_body(sink: str) -> None:
    status, _, _ = call(sink + "/messages", "POST", raw=b"{" + b" " * 20_000 + b"}")
    assert status == 413


def test_health_and_unknown_paths(sink: str) -> None:
    assert call(sink + "/healthz")[0] == 200
    assert call(sink + "/nope")[0] == 404
    assert call(sink + "/nope", "POST", {"to": "+4791234567", "text": "x"})[0] == 404


async def test_the_notifier_delivers_to_it(sink: str) -> None:
    """The notifier's own SMS sender, configured as compose configures it: accepted; with a wrong
    token: a permanent failure, not retried."""
    settings = sms_from_env({"SMS_GATEWAY_URL": sink + "/messages", "SMS_GATEWAY_TOKEN": TOKEN})
    wrong = sms_from_env({"SMS_GATEWAY_URL": sink + "/messages", "SMS_GATEWAY_TOKEN": "wrong"})
    message = OutgoingMessage(channel="sms", to="+4791234567", subject="", text="Kode: 654321")
    async with aiohttp.ClientSession() as session:
        await SmsGatewaySender(session, settings, 5.0).send(message, 5.0)
        with pytest.raises(SendFailed) as failed:
            await SmsGatewaySender(session, wrong, 5.0).send(message, 5.0)
    assert failed.value.failure.permanent
    items = json.loads(call(sink + "/messages")[1])["items"]
    assert [(i["to"], i["text"]) for i in items] == [("+4791234567", "Kode: 654321")]
