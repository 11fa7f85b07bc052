"""Messages against real PostgreSQL, RabbitMQ and auth: sending, replies, folders, read state."""

from __future__ import annotations

import asyncio
import uuid
from datetime import datetime

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
from tests.support import AuthHarness, EventTap, bearer

USERS = {"kari": {"display_name": "Kari Nordmann"}, "ola": {"display_name": "Ola Koordinator"},
         "per": {"display_name": "Per Hjelper"}}


@pytest.fixture
async def cast(auth: AuthHarness, messages: Messages) -> Cast:
    return await make_cast(auth, messages, USERS)


@pytest.fixture
async def plan_id(publisher: Publisher, messages: Messages, cast: Cast) -> str:
    return await make_plan(publisher, messages, cast["kari"], cast["ola"], (cast["per"],))


async def test_send_answers_the_whole_message_and_emits_ids_only(
        messages: Messages, cast: Cast, plan_id: str, event_tap: EventTap) -> None:
    message = await messages.sent(cast.tokens["ola"], plan_id, [cast["kari"], cast["per"]],
                                  subject="  Møte tirsdag ", body="Ses vi kl. 10?\nHilsen Ola")

    assert uuid.UUID(message["id"]) and message["thread_id"] == message["id"]
    assert message["plan_id"] == plan_id and message["in_reply_to"] is None
    assert message["sender"] == {"id": cast["ola"], "display_name": "Ola Koordinator"}
    assert message["recipients"] == [
        {"id": cast["kari"], "display_name": "Kari Nordmann", "read_at": None},
        {"id": cast["per"], "display_name": "Per Hjelper", "read_at": None},
    ]
    assert (message["subject"], message["body"]) == ("Møte tirsdag", "Ses vi kl. 10?\nHilsen Ola")
    assert message["created_at"].endswith("Z") and datetime.fromisoformat(message["created_at"])

    [event] = await event_tap.wait_for("message.created", lambda e: e["data"]["message_id"] == message["id"])
    assert event["data"] == {"message_id": message["id"], "plan_id": plan_id, "sender_id": cast["ola"],
                             "recipient_ids": [cast["kari"], cast["per"]],
                             "created_at": message["created_at"]}
    assert "Møte" not in str(event) and "Ses vi" not in str(event)

    status, fetched = await messages.get(cast.tokens["kari"], f"/v1/messages/{message['id']}")
    assert status == 200 and fetched == message


async def test_repeated_recipients_count_once_and_sending_to_yourself_is_refused(
        messages: Messages, cast: Cast, plan_id: str) -> None:
    message = await messages.sent(cast.tokens["ola"], plan_id, [cast["kari"], cast["per"], cast["kari"]])
    assert [r["id"] for r in message["recipients"]] == [cast["kari"], cast["per"]]

    response = await messages.send(cast.tokens["ola"], plan_id, [cast["kari"], cast["ola"]])
    assert response.status == 422
    assert [e["field"] for e in (await response.json())["errors"]] == ["recipient_ids"]


async def test_a_reply_joins_the_thread_of_the_first_message(messages: Messages, cast: Cast,
                                                             plan_id: str) -> None:
    first = await messages.sent(cast.tokens["ola"], plan_id, [cast["kari"]], subject="Spørsmål")
    reply = await messages.sent(cast.tokens["kari"], plan_id, [cast["ola"]], subject="Sv: Spørsmål",
                                in_reply_to=first["id"])
    again = await messages.sent(cast.tokens["ola"], plan_id, [cast["kari"], cast["per"]],
                                subject="Sv: Sv: Spørsmål", in_reply_to=reply["id"])

    assert reply["thread_id"] == again["thread_id"] == first["id"]
    assert (reply["in_reply_to"], again["in_reply_to"]) == (first["id"], reply["id"])

    # Per received none of the thread before: he may not reply to a message he cannot see.
    response = await messages.send(cast.tokens["per"], plan_id, [cast["ola"]], in_reply_to=first["id"])
    assert response.status == 422
    assert (await response.json())["errors"][0]["field"] == "in_reply_to"


async def test_a_reply_must_be_in_the_same_plan(messages: Messages, cast: Cast, plan_id: str,
                                                publisher: Publisher) -> None:
    other_plan = await make_plan(publisher, messages, cast["kari"], cast["ola"])
    first = await messages.sent(cast.tokens["ola"], plan_id, [cast["kari"]])
    response = await messages.send(cast.tokens["kari"], other_plan, [cast["ola"]], in_reply_to=first["id"])
    assert response.status == 422
    unknown = await messages.send(cast.tokens["kari"], plan_id, [cast["ola"]],
                                  in_reply_to=str(uuid.uuid4()))
    assert unknown.status == 422


async def test_inbox_and_sent_folders_page_newest_first(messages: Messages, cast: Cast,
                                                        plan_id: str) -> None:
    sent = [await messages.sent(cast.tokens["ola"], plan_id, [cast["kari"]], subject=f"Melding {n}")
            for n in range(5)]
    newest_first = [m["id"] for m in reversed(sent)]

    seen, cursor = [], None
    while True:
        params = {"limit": "2", **({"cursor": cursor} if cursor else {})}
        status, page = await messages.get(cast.tokens["kari"], "/v1/messages", **params)
        assert status == 200
        seen += [item["id"] for item in page["items"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert seen == newest_first

    [first] = await messages.folder(cast.tokens["kari"], limit="1")
    assert first == {"id": sent[-1]["id"], "plan_id": plan_id, "thread_id": sent[-1]["id"],
                     "in_reply_to": None, "subject": "Melding 4", "created_at": sent[-1]["created_at"],
                     "sender": {"id": cast["ola"], "display_name": "Ola Koordinator"}, "read_at": None}

    outgoing = await messages.folder(cast.tokens["ola"], folder="sent")
    assert [m["id"] for m in outgoing] == newest_first
    assert outgoing[0]["recipients"] == [{"id": cast["kari"], "display_name": "Kari Nordmann",
                                          "read_at": None}]
    assert "body" not in outgoing[0] and "body" not in first
    assert await messages.folder(cast.tokens["per"]) == []
    assert await messages.folder(cast.tokens["kari"], folder="sent") == []


async def test_folders_filter_by_plan_and_unread(messages: Messages, cast: Cast, plan_id: str,
                                                 publisher: Publisher) -> None:
    other_plan = await make_plan(publisher, messages, cast["kari"], cast["per"])
    in_plan = await messages.sent(cast.tokens["ola"], plan_id, [cast["kari"]])
    in_other = await messages.sent(cast.tokens["per"], other_plan, [cast["kari"]])
    read_one = await messages.sent(cast.tokens["ola"], plan_id, [cast["kari"]])
    assert await messages.read(cast.tokens["kari"], read_one["id"]) == 204

    def ids(items: list[dict]) -> list[str]:
        return [item["id"] for item in items]

    kari = cast.tokens["kari"]
    assert ids(await messages.folder(kari)) == [read_one["id"], in_other["id"], in_plan["id"]]
    assert ids(await messages.folder(kari, plan_id=plan_id)) == [read_one["id"], in_plan["id"]]
    assert ids(await messages.folder(kari, unread="true")) == [in_other["id"], in_plan["id"]]
    assert ids(await messages.folder(kari, unread="true", plan_id=other_plan)) == [in_other["id"]]
    assert ids(await messages.folder(kari, unread="false")) == ids(await messages.folder(kari))
    assert await messages.unread(kari) == 2
    assert await messages.unread(kari, plan_id=plan_id) == 1
    assert await messages.unread(kari, plan_id=str(uuid.uuid4())) == 0

    ola = cast.tokens["ola"]
    assert ids(await messages.folder(ola, folder="sent", unread="true")) == [in_plan["id"]]
    assert ids(await messages.folder(ola, folder="sent", plan_id=other_plan)) == []


async def test_the_sender_sees_when_each_recipient_read_it(messages: Messages, cast: Cast,
                                                           plan_id: str, event_tap: EventTap) -> None:
    message = await messages.sent(cast.tokens["ola"], plan_id, [cast["kari"], cast["per"]])
    path = f"/v1/messages/{message['id']}"
    assert await messages.unread(cast.tokens["kari"]) == 1

    assert await messages.read(cast.tokens["kari"], message["id"]) == 204
    [event] = await event_tap.wait_for("message.read")
    assert set(event["data"]) == {"message_id", "user_id", "read_at"}
    assert (event["data"]["message_id"], event["data"]["user_id"]) == (message["id"], cast["kari"])

    _, as_sender = await messages.get(cast.tokens["ola"], path)
    kari, per = as_sender["recipients"]
    assert kari["read_at"] == event["data"]["read_at"] and per["read_at"] is None
    [outgoing] = await messages.folder(cast.tokens["ola"], folder="sent")
    assert outgoing["recipients"][0]["read_at"] == kari["read_at"]
    [incoming] = await messages.folder(cast.tokens["kari"])
    assert incoming["read_at"] == kari["read_at"]
    assert await messages.unread(cast.tokens["kari"]) == 0

    # A co-recipient does not learn when the others read it.
    assert await messages.read(cast.tokens["per"], message["id"]) == 204
    _, as_per = await messages.get(cast.tokens["per"], path)
    assert as_per["recipients"][0]["read_at"] is None and as_per["recipients"][1]["read_at"] is not None


async def test_reading_again_keeps_the_first_time_and_emits_nothing(
        messages: Messages, cast: Cast, plan_id: str, event_tap: EventTap) -> None:
    message = await messages.sent(cast.tokens["ola"], plan_id, [cast["kari"]])
    results = await asyncio.gather(*(messages.read(cast.tokens["kari"], message["id"]) for _ in range(5)))
    assert results == [204] * 5
    [event] = await event_tap.wait_for("message.read")
    assert await messages.read(cast.tokens["kari"], message["id"]) == 204
    await asyncio.sleep(0.5)
    assert len([e for e in event_tap.events if e["type"] == "message.read"]) == 1
    _, fetched = await messages.get(cast.tokens["ola"], f"/v1/messages/{message['id']}")
    assert fetched["recipients"][0]["read_at"] == event["data"]["read_at"]


async def test_the_sender_cannot_mark_their_own_message_read(messages: Messages, cast: Cast,
                                                             plan_id: str) -> None:
    message = await messages.sent(cast.tokens["ola"], plan_id, [cast["kari"]])
    assert await messages.read(cast.tokens["ola"], message["id"]) == 404


async def test_an_idempotency_key_replays_the_first_answer(messages: Messages, cast: Cast, plan_id: str,
                                                           event_tap: EventTap) -> None:
    key = {"Idempotency-Key": f"send-{uuid.uuid4()}"}
    first = await messages.send(cast.tokens["ola"], plan_id, [cast["kari"]], headers=key)
    again = await messages.send(cast.tokens["ola"], plan_id, [cast["kari"]], headers=key)
    assert first.status == again.status == 201
    assert await first.json() == await again.json()
    assert len(await messages.folder(cast.tokens["kari"])) == 1

    other = await messages.send(cast.tokens["ola"], plan_id, [cast["kari"]], subject="Annet", headers=key)
    assert other.status == 422
    # The same key from another caller is that caller's own.
    theirs = await messages.send(cast.tokens["kari"], plan_id, [cast["ola"]], headers=key)
    assert theirs.status == 201
    await event_tap.wait_for("message.created", count=2)
    await asyncio.sleep(0.3)
    assert len([e for e in event_tap.events if e["type"] == "message.created"]) == 2


async def test_names_follow_user_updates(auth: AuthHarness, messages: Messages, cast: Cast,
                                         plan_id: str) -> None:
    message = await messages.sent(cast.tokens["ola"], plan_id, [cast["kari"]])
    response = await auth.client.patch("/v1/users/me", headers=bearer(cast.tokens["kari"]),
                                       json={"display_name": "Kari N."})
    assert response.status == 200
    path = f"/v1/messages/{message['id']}"

    async def renamed() -> bool:
        _, body = await messages.get(cast.tokens["ola"], path)
        return body["recipients"][0]["display_name"] == "Kari N."

    for _ in range(200):
        if await renamed():
            break
        await asyncio.sleep(0.05)
    assert await renamed()
