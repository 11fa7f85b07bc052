"""Who may send and see what: only a plan's participants, and a message only its sender and recipients."""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime, timedelta

import pytest
from aiohttp import ClientResponse

from services.messages.events import PLANS_QUEUE
from tests.messages_support import (  # noqa: F401  (fixtures)
    Cast,
    Messages,
    Publisher,
    consumed,
    make_cast,
    make_plan,
    messages_fixture,
    publisher_fixture,
    start_messages_fixture,
)
from tests.servers import wait_until
from tests.support import AuthHarness, EventTap, bearer

USERS = {"kari": {}, "ola": {}, "per": {}, "siri": {}}


@pytest.fixture
async def cast(auth: AuthHarness, messages: Messages) -> Cast:
    return await make_cast(auth, messages, USERS)


@pytest.fixture
async def plan_id(publisher: Publisher, messages: Messages, cast: Cast) -> str:
    """Kari's plan, coordinated by Ola, with Per; Siri takes no part in it."""
    return await make_plan(publisher, messages, cast["kari"], cast["ola"], (cast["per"],))


async def count_rows(messages: Messages) -> tuple[int, int, int]:
    return (await messages.pool.fetchval("select count(*) from messages"),
            await messages.pool.fetchval("select count(*) from message_recipients"),
            await messages.pool.fetchval("select count(*) from outbox where type = 'message.created'"))


async def test_a_non_participant_cannot_send_into_the_plan(messages: Messages, cast: Cast,
                                                           plan_id: str) -> None:
    response = await messages.send(cast.tokens["siri"], plan_id, [cast["kari"]])
    assert response.status == 404
    problem = await response.json()
    assert problem["status"] == 404 and "errors" not in problem
    unknown_plan = await messages.send(cast.tokens["siri"], str(uuid.uuid4()), [cast["kari"]])
    assert unknown_plan.status == 404
    assert await problem_text(unknown_plan) == await problem_text(response)  # cannot be told apart
    assert await count_rows(messages) == (0, 0, 0)


async def problem_text(response: ClientResponse) -> str:
    body = await response.json()
    return f"{body['title']}: {body['detail']}"


async def test_a_recipient_who_is_not_a_participant_is_refused(messages: Messages, cast: Cast,
                                                               plan_id: str, event_tap: EventTap) -> None:
    stranger = str(uuid.uuid4())
    response = await messages.send(cast.tokens["ola"], plan_id, [cast["kari"], cast["siri"], stranger])
    assert response.status == 422
    errors = (await response.json())["errors"]
    assert [e["field"] for e in errors] == ["recipient_ids", "recipient_ids"]
    assert cast["siri"] in errors[0]["message"] and stranger in errors[1]["message"]
    assert await count_rows(messages) == (0, 0, 0)
    assert await messages.folder(cast.tokens["kari"]) == []
    await asyncio.sleep(0.3)
    assert not [e for e in event_tap.events if e["type"] == "message.created"]


async def test_only_sender_and_recipients_see_a_message(messages: Messages, cast: Cast,
                                                        plan_id: str) -> None:
    message = await messages.sent(cast.tokens["ola"], plan_id, [cast["kari"]])
    path = f"/v1/messages/{message['id']}"
    for name in ("ola", "kari"):
        assert (await messages.get(cast.tokens[name], path))[0] == 200
    for name in ("per", "siri"):  # a participant of the plan who did not get it, and an outsider
        status, problem = await messages.get(cast.tokens[name], path)
        assert status == 404
        assert (await messages.get(cast.tokens[name], f"/v1/messages/{uuid.uuid4()}"))[1] == problem
        assert await messages.read(cast.tokens[name], message["id"]) == 404
        assert await messages.folder(cast.tokens[name]) == []
    assert await messages.read(cast.tokens["kari"], str(uuid.uuid4())) == 404


async def test_a_removed_participant_can_no_longer_send_nor_receive(
        messages: Messages, cast: Cast, plan_id: str, publisher: Publisher) -> None:
    earlier = await messages.sent(cast.tokens["ola"], plan_id, [cast["per"]])
    await publisher.participant_removed(plan_id, cast["per"])
    await messages.wait_members(plan_id, [cast["per"]], active=False)

    assert (await messages.send(cast.tokens["per"], plan_id, [cast["kari"]])).status == 404
    refused = await messages.send(cast.tokens["ola"], plan_id, [cast["per"]])
    assert refused.status == 422
    # What they received while they took part stays theirs to read.
    assert (await messages.get(cast.tokens["per"], f"/v1/messages/{earlier['id']}"))[0] == 200
    assert await messages.read(cast.tokens["per"], earlier["id"]) == 204

    await publisher.participant_added(plan_id, cast["per"])
    await messages.wait_members(plan_id, [cast["per"]])
    assert (await messages.send(cast.tokens["per"], plan_id, [cast["kari"]])).status == 201


async def test_membership_keeps_the_latest_state_whatever_order_events_arrive_in(
        messages: Messages, cast: Cast, publisher: Publisher) -> None:
    plan_id = str(uuid.uuid4())
    now = datetime.now(UTC)
    per = cast["per"]
    # Removed at t+2 arrives first, then the add at t+1 it undid, then a duplicate of the add.
    await publisher.plan_created(plan_id, cast["kari"], cast["ola"], occurred_at=now)
    await publisher.participant_removed(plan_id, per, occurred_at=now + timedelta(seconds=2))
    added = await publisher.participant_added(plan_id, per, occurred_at=now + timedelta(seconds=1))
    await publisher.participant_added(plan_id, per, occurred_at=now + timedelta(seconds=1), event_id=added)
    await wait_until(lambda: consumed(messages.app, PLANS_QUEUE) == 4, 10, "four plan events")
    await messages.wait_members(plan_id, [cast["kari"], cast["ola"]])
    await messages.wait_members(plan_id, [per], active=False)
    assert (await messages.send(cast.tokens["per"], plan_id, [cast["kari"]])).status == 404

    await publisher.participant_added(plan_id, per, occurred_at=now + timedelta(seconds=3))
    await messages.wait_members(plan_id, [per])
    assert (await messages.send(cast.tokens["per"], plan_id, [cast["kari"]])).status == 201


async def test_an_owner_who_coordinates_their_own_plan(messages: Messages, cast: Cast,
                                                       publisher: Publisher) -> None:
    plan_id = await make_plan(publisher, messages, cast["kari"], cast["kari"], (cast["ola"],))
    assert await messages.pool.fetchval("select role from plan_members where user_id = $1 and plan_id = $2",
                                        uuid.UUID(cast["kari"]), uuid.UUID(plan_id)) == "owner"
    assert (await messages.send(cast.tokens["kari"], plan_id, [cast["ola"]])).status == 201


async def test_every_route_needs_a_valid_token(messages: Messages, cast: Cast, plan_id: str) -> None:
    message = await messages.sent(cast.tokens["ola"], plan_id, [cast["kari"]])
    routes = [("POST", "/v1/messages"), ("GET", "/v1/messages"), ("GET", "/v1/messages/unread-count"),
              ("GET", f"/v1/messages/{message['id']}"), ("POST", f"/v1/messages/{message['id']}/read")]
    forged = cast.tokens["kari"][:-4] + ("AAAA" if not cast.tokens["kari"].endswith("AAAA") else "BBBB")
    for method, path in routes:
        for headers in ({}, bearer("not-a-token"), bearer(forged), {"Authorization": "Basic a2FyaTpw"}):
            response = await messages.client.request(method, path, headers=headers, json={})
            assert response.status == 401, (method, path, headers)
            assert response.headers["Content-Type"].startswith("application/problem+json")
    assert await messages.unread(cast.tokens["kari"]) == 1
