"""Bad input on every messages route: 400, 413 or 422 naming the field, nothing changed, never a 500."""

from __future__ import annotations

import base64
import json
import uuid
from typing import Any

import pytest

from tests.messages_support import (  # noqa: F401  (fixtures)
    Cast,
    Messages,
    Publisher,
    make_cast,
    make_plan,
    messages_fixture,
    publisher_fixture,
    start_messages_fixture,
)
from tests.support import AuthHarness, bearer


@pytest.fixture
async def cast(auth: AuthHarness, messages: Messages) -> Cast:
    return await make_cast(auth, messages, {"kari": {}, "ola": {}})


@pytest.fixture
async def plan_id(publisher: Publisher, messages: Messages, cast: Cast) -> str:
    return await make_plan(publisher, messages, cast["kari"], cast["ola"])


def cursor(values: Any) -> str:
    return base64.urlsafe_b64encode(json.dumps(values).encode()).decode().rstrip("=")


async def test_bad_message_bodies_are_refused_naming_the_field(messages: Messages, cast: Cast,
                                                               plan_id: str) -> None:
    good = {"plan_id": plan_id, "recipient_ids": [cast["kari"]], "subject": "Hei", "body": "Tekst"}
    cases: list[tuple[dict[str, Any], str]] = [
        ({k: v for k, v in good.items() if k != "plan_id"}, "plan_id"),
        ({k: v for k, v in good.items() if k != "recipient_ids"}, "recipient_ids"),
        ({k: v for k, v in good.items() if k != "subject"}, "subject"),
        ({k: v for k, v in good.items() if k != "body"}, "body"),
        ({**good, "plan_id": "plan-1"}, "plan_id"),
        ({**good, "plan_id": None}, "plan_id"),
        ({**good, "recipient_ids": []}, "recipient_ids"),
        ({**good, "recipient_ids": cast["kari"]}, "recipient_ids"),
        ({**good, "recipient_ids": ["kari"]}, "recipient_ids.0"),
        ({**good, "recipient_ids": [str(uuid.uuid4()) for _ in range(101)]}, "recipient_ids"),
        ({**good, "subject": ""}, "subject"),
        ({**good, "subject": "   "}, "subject"),
        ({**good, "subject": "x" * 201}, "subject"),
        ({**good, "subject": "Hei\nBcc: x"}, "subject"),
        ({**good, "subject": 5}, "subject"),
        ({**good, "body": ""}, "body"),
        ({**good, "body": " \n "}, "body"),
        ({**good, "body": "x" * 20_001}, "body"),
        ({**good, "body": "nul\x00byte"}, "body"),
        ({**good, "body": ["Tekst"]}, "body"),
        ({**good, "in_reply_to": "1"}, "in_reply_to"),
        ({**good, "sender_id": cast["kari"]}, "sender_id"),
    ]
    for payload, field in cases:
        response = await messages.client.post("/v1/messages", json=payload,
                                              headers=bearer(cast.tokens["ola"]))
        assert response.status == 422, (field, await response.text())
        problem = await response.json()
        assert response.headers["Content-Type"].startswith("application/problem+json")
        assert field in [e["field"] for e in problem["errors"]], (field, problem)
    assert await nothing_stored(messages)


async def test_malformed_oversized_and_odd_requests(messages: Messages, cast: Cast, plan_id: str) -> None:
    token = bearer(cast.tokens["ola"])
    raw = [
        (b"", 400), (b"{not json", 400), (b"\xff\xfe", 400), (b"[1, 2]", 422), (b'"text"', 422),
        # A lone surrogate is valid JSON but not text PostgreSQL can store.
        (json.dumps({"plan_id": plan_id, "recipient_ids": [cast["kari"]], "subject": "Hei",
                     "body": "\ud800"}).encode(), 422),
        (json.dumps({"plan_id": plan_id, "recipient_ids": [cast["kari"]], "subject": "Hei",
                     "body": "x" * 70_000}).encode(), 413),
    ]
    for body, status in raw:
        response = await messages.client.post("/v1/messages", data=body,
                                              headers={**token, "Content-Type": "application/json"})
        assert response.status == status, (body[:20], await response.text())
    for key in ("", "x" * 201, "nøkkel", "with space"):
        response = await messages.send(cast.tokens["ola"], plan_id, [cast["kari"]],
                                       headers={"Idempotency-Key": key})
        assert response.status == 422, key
    assert (await messages.client.delete("/v1/messages", headers=token)).status == 405
    assert await nothing_stored(messages)


async def test_bad_queries_and_ids_on_the_reading_routes(messages: Messages, cast: Cast,
                                                         plan_id: str) -> None:
    message = await messages.sent(cast.tokens["ola"], plan_id, [cast["kari"]])
    token = cast.tokens["kari"]
    bad_lists = [
        ({"folder": "trash"}, "folder"), ({"folder": ""}, "folder"), ({"unread": "yes"}, "unread"),
        ({"unread": "1"}, "unread"), ({"plan_id": "plan-1"}, "plan_id"), ({"limit": "0"}, "limit"),
        ({"limit": "201"}, "limit"), ({"limit": "-1"}, "limit"), ({"limit": "ten"}, "limit"),
        ({"limit": "1e3"}, "limit"), ({"cursor": "%%%"}, "cursor"), ({"cursor": "bm90IGpzb24"}, "cursor"),
        ({"cursor": cursor(["2025-01-01T00:00:00+00:00"])}, "cursor"),
        ({"cursor": cursor(["yesterday", str(uuid.uuid4())])}, "cursor"),
        ({"cursor": cursor(["2025-01-01T00:00:00", str(uuid.uuid4())])}, "cursor"),
        ({"cursor": cursor(["2025-01-01T00:00:00+00:00", "id-1"])}, "cursor"),
        ({"cursor": cursor([1, 2])}, "cursor"), ({"cursor": cursor({"a": 1})}, "cursor"),
    ]
    for params, field in bad_lists:
        for folder in ("inbox", "sent"):
            status, problem = await messages.get(token, "/v1/messages", **{"folder": folder, **params})
            assert status == 422, (params, problem)
            assert [e["field"] for e in problem["errors"]] == [field]
    status, problem = await messages.get(token, "/v1/messages/unread-count", plan_id="1")
    assert (status, problem["errors"][0]["field"]) == (422, "plan_id")

    for path in ("/v1/messages/not-an-id", "/v1/messages/12345"):
        status, problem = await messages.get(token, path)
        assert (status, problem["errors"][0]["field"]) == (422, "message_id")
        response = await messages.client.post(path + "/read", headers=bearer(token))
        assert response.status == 422
    # A body on a read is ignored, whatever it is.
    response = await messages.client.post(f"/v1/messages/{message['id']}/read", data=b"{not json",
                                          headers=bearer(token))
    assert response.status == 204
    assert await messages.unread(token) == 0


async def nothing_stored(messages: Messages) -> bool:
    counts = [await messages.pool.fetchval(f"select count(*) from {table}")
              for table in ("messages", "message_recipients", "outbox", "idempotency_keys")]
    return counts == [0, 0, 0, 0]
