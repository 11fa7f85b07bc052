"""Plans' copy of auth's users: user.updated renames people everywhere; duplicates, stale and
broken events change nothing."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

from services.common.events import iso
from tests.plans_support import Plans, build_scene, plans_fixture  # noqa: F401  (fixture)
from tests.servers import wait_until
from tests.support import EventTap


async def test_user_updated_changes_the_name_in_participant_lists(plans: Plans,
                                                                   event_tap: EventTap) -> None:
    scene = await build_scene(plans)
    base = f"/v1/plans/{scene.plan}"
    response = await plans.auth.client.patch(
        "/v1/users/me", json={"display_name": "Kari Nordmann-Berg", "phone": "+4799999999"},
        headers=plans.headers["kari"])
    assert response.status == 200, await response.text()
    await event_tap.wait_for("user.updated", lambda e: e["data"]["user_id"] == plans.ids["kari"])
    await plans.wait_user(plans.ids["kari"], "Kari Nordmann-Berg")

    participants = await plans.ok("per", "GET", f"{base}/participants")
    kari = next(p for p in participants["items"] if p["user_id"] == plans.ids["kari"])
    assert (kari["display_name"], kari["phone"]) == ("Kari Nordmann-Berg", "+4799999999")
    assert (await plans.ok("per", "GET", base))["owner"]["display_name"] == "Kari Nordmann-Berg"
    mine = await plans.ok("ola", "GET", "/v1/plans")
    assert mine["items"][0]["owner"]["display_name"] == "Kari Nordmann-Berg"


async def test_duplicate_stale_and_broken_events_change_nothing(plans: Plans,
                                                                event_tap: EventTap) -> None:
    per = plans.ids["per"]
    [created] = await event_tap.wait_for("user.created", lambda e: e["data"]["user_id"] == per)
    users = await plans.snapshot(("users",))
    processed = await plans.pool.fetchval("select count(*) from processed_events")
    handled = plans.consumed()

    # The same event again, even carrying other data, is a duplicate: ignored.
    await plans.publish({**created, "data": {**created["data"], "display_name": "Duplikat"}})
    # A new event that happened before the one stored: stale, ignored.
    stale_time = datetime.fromisoformat(created["occurred_at"]) - timedelta(minutes=5)
    await plans.publish({"id": str(uuid.uuid4()), "type": "user.updated",
                         "occurred_at": iso(stale_time),
                         "data": {**created["data"], "display_name": "Gammelt navn"}})
    await wait_until(lambda: plans.consumed() >= handled + 2, 10, "two events handled")
    assert await plans.snapshot(("users",)) == users
    # Only the stale one is new among the processed events.
    assert await plans.pool.fetchval("select count(*) from processed_events") == processed + 1

    # Events that can never be used go to the dead letters and change nothing.
    for data in ({"display_name": "Uten id"}, {"user_id": "nope", "display_name": "X"},
                 {"user_id": str(uuid.uuid4()), "display_name": ""},
                 {"user_id": str(uuid.uuid4()), "display_name": "X", "email": 5}):
        await plans.publish({"id": str(uuid.uuid4()), "type": "user.created",
                             "occurred_at": iso(datetime.now(UTC)), "data": data})
    await plans.publish({"id": str(uuid.uuid4()), "type": "user.updated", "occurred_at": "i går",
                         "data": created["data"]})
    await wait_until(lambda: plans.consumed("dead_lettered") >= 5, 10, "five dead letters")
    assert await plans.snapshot(("users",)) == users
    assert await plans.pool.fetchval("select count(*) from processed_events") == processed + 1


async def test_a_user_created_after_start_can_take_part(plans: Plans) -> None:
    scene = await build_scene(plans)
    siv = await plans.add_person("siv", "Siv Senere")
    added = await plans.ok("ola", "POST", f"/v1/plans/{scene.plan}/participants",
                           {"user_id": siv, "role": "coordinator"})
    assert added["display_name"] == "Siv Senere" and added["role"] == "coordinator"
