"""The contract's plans flows against real PostgreSQL, RabbitMQ and the real auth service."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from devtools import demo_plan as demo
from services.common.events import iso
from services.plans import schemas
from tests.plans_support import Plans, build_scene, plans_fixture  # noqa: F401  (fixture)
from tests.support import EventTap


def soon(hours: float) -> str:
    return iso(datetime.now(UTC) + timedelta(hours=hours))


async def test_admin_creates_a_plan_and_the_coordinator_manages_its_participants(
        plans: Plans, event_tap: EventTap) -> None:
    ids = plans.ids
    plan = await plans.ok("admin", "POST", "/v1/plans", {
        "title": "Kari sin plan", "owner_id": ids["kari"], "coordinator_id": ids["ola"]})
    schemas.PlanOut.model_validate(plan)
    assert plan["owner"] == {"id": ids["kari"], "display_name": "Kari Nordmann"}
    assert plan["coordinator"] == {"id": ids["ola"], "display_name": "Ola Koordinator"}
    assert plan["created_at"].endswith("Z")
    plan_id = plan["id"]

    [created] = await event_tap.wait_for("plan.created", lambda e: e["data"]["plan_id"] == plan_id)
    assert created["data"] == {"plan_id": plan_id, "title": "Kari sin plan",
                               "owner_id": ids["kari"], "coordinator_id": ids["ola"]}
    added = await event_tap.wait_for("plan.participant_added",
                                     lambda e: e["data"]["plan_id"] == plan_id, count=2)
    assert sorted((e["data"]["user_id"], e["data"]["role"]) for e in added) == sorted(
        [(ids["kari"], "owner"), (ids["ola"], "coordinator")])

    # The admin created it but does not take part in it.
    assert (await plans.ok("admin", "GET", "/v1/plans"))["items"] == []
    assert (await plans.call("admin", "GET", f"/v1/plans/{plan_id}"))[0] == 404
    for who, role in (("kari", "owner"), ("ola", "coordinator")):
        mine = await plans.ok(who, "GET", "/v1/plans")
        schemas.PlanPage.model_validate(mine)
        assert mine == {"items": [{"id": plan_id, "title": "Kari sin plan", "my_role": role,
                                   "owner": plan["owner"]}], "next_cursor": None}

    per = await plans.ok("ola", "POST", f"/v1/plans/{plan_id}/participants",
                         {"user_id": ids["per"], "role": "participant"})
    assert per == {"user_id": ids["per"], "display_name": "Per Hjelper", "role": "participant",
                   "email": "per@example.no", "phone": "+4791234567"}
    await event_tap.wait_for("plan.participant_added", lambda e: e["data"] == {
        "plan_id": plan_id, "user_id": ids["per"], "role": "participant"})
    assert (await plans.ok("per", "GET", "/v1/plans"))["items"][0]["my_role"] == "participant"

    listed = await plans.ok("per", "GET", f"/v1/plans/{plan_id}/participants")
    schemas.ParticipantPage.model_validate(listed)
    assert [(p["display_name"], p["role"]) for p in listed["items"]] == [
        ("Kari Nordmann", "owner"), ("Ola Koordinator", "coordinator"), ("Per Hjelper", "participant")]
    assert listed["items"][0]["email"] == "kari@example.no"

    await plans.ok("ola", "DELETE", f"/v1/plans/{plan_id}/participants/{ids['per']}")
    [removed] = await event_tap.wait_for("plan.participant_removed")
    assert removed["data"] == {"plan_id": plan_id, "user_id": ids["per"], "role": "participant"}
    # At once: the next request no longer sees the plan.
    assert (await plans.call("per", "GET", f"/v1/plans/{plan_id}"))[0] == 404
    assert (await plans.ok("per", "GET", "/v1/plans"))["items"] == []


async def test_goals_activities_and_comments_with_status(plans: Plans) -> None:
    scene = await build_scene(plans)
    base = f"/v1/plans/{scene.plan}"
    second = await plans.ok("ola", "POST", f"{base}/goals", {"title": "Jobb", "description": ""})
    assert second["status"] == "not_started" and second["activities"] == []

    changed = await plans.ok("ola", "PATCH", f"{base}/goals/{second['id']}",
                             {"title": "Arbeid", "description": "Deltid", "status": "in_progress"})
    assert (changed["title"], changed["description"], changed["status"]) == (
        "Arbeid", "Deltid", "in_progress")
    activity = await plans.ok("ola", "PATCH", f"{base}/activities/{scene.activity}",
                              {"due_date": None, "description": "Hver torsdag"})
    schemas.ActivityOut.model_validate(activity)
    assert activity["due_date"] is None and activity["description"] == "Hver torsdag"
    assert activity["responsible"] == {"id": plans.ids["per"], "display_name": "Per Hjelper"}
    moved = await plans.ok("ola", "PATCH", f"{base}/activities/{scene.activity}",
                           {"goal_id": second["id"], "responsible_id": None})
    assert moved["goal_id"] == second["id"] and moved["responsible"] is None
    await plans.ok("ola", "PATCH", f"{base}/activities/{scene.activity}", {"goal_id": scene.goal})

    # Any participant comments; a comment with a status sets the goal's or activity's status.
    note = await plans.ok("per", "POST", f"{base}/goals/{scene.goal}/comments",
                          {"text": "Vi har begynt", "status": "in_progress"})
    schemas.CommentOut.model_validate(note)
    assert note["author"] == {"id": plans.ids["per"], "display_name": "Per Hjelper"}
    assert note["status"] == "in_progress" and note["created_at"].endswith("Z")
    await plans.ok("kari", "POST", f"{base}/goals/{scene.goal}/comments", {"text": "Bra!"})
    await plans.ok("kari", "POST", f"{base}/activities/{scene.activity}/comments",
                   {"text": "Gjort i dag", "status": "completed"})

    goals = await plans.ok("kari", "GET", f"{base}/goals")
    schemas.GoalPage.model_validate(goals)
    assert [g["title"] for g in goals["items"]] == ["Bo hjemme", "Arbeid"]
    first = goals["items"][0]
    assert first["status"] == "in_progress"
    assert [(a["title"], a["status"]) for a in first["activities"]] == [("Handle mat", "completed")]

    comments = await plans.ok("ola", "GET", f"{base}/goals/{scene.goal}/comments")
    schemas.CommentPage.model_validate(comments)
    assert [(c["author"]["display_name"], c["text"], c["status"]) for c in comments["items"]] == [
        ("Per Hjelper", "Vi har begynt", "in_progress"), ("Kari Nordmann", "Bra!", None)]
    on_activity = await plans.ok("per", "GET", f"{base}/activities/{scene.activity}/comments")
    assert [c["text"] for c in on_activity["items"]] == ["Gjort i dag"]
    # A goal of another plan is not found through this one.
    other = await plans.new_plan("Annen plan", owner="per", coordinator="ola")
    assert (await plans.call("ola", "GET", f"/v1/plans/{other}/goals/{scene.goal}/comments"))[0] == 404
    assert (await plans.call("ola", "POST", f"/v1/plans/{other}/goals/{scene.goal}/activities",
                             {"title": "x"}))[0] == 404


async def test_calendar_range_home_page_and_assessments(plans: Plans) -> None:
    plan = await plans.new_plan()
    base = f"/v1/plans/{plan}"
    spans = {"past": (-50, -49), "now": (-1, 1), "tomorrow": (24, 25), "next week": (170, 171)}
    for title, (start, end) in spans.items():
        event = await plans.ok("ola", "POST", f"{base}/events", {
            "title": title, "starts_at": soon(start), "ends_at": soon(end),
            "location": "Kontoret", "description": None})
        schemas.EventOut.model_validate(event)

    in_range = await plans.ok("kari", "GET", f"{base}/events?from={soon(-2)}&to={soon(30)}")
    schemas.EventPage.model_validate(in_range)
    assert [e["title"] for e in in_range["items"]] == ["now", "tomorrow"]
    assert [e["title"] for e in (await plans.ok("kari", "GET", f"{base}/events"))["items"]] == [
        "past", "now", "tomorrow", "next week"]
    assert [e["title"] for e in (await plans.ok(
        "kari", "GET", f"{base}/events?from={soon(100)}"))["items"]] == ["next week"]
    # Touching the range's edge is not overlapping it.
    tomorrow = in_range["items"][1]
    edge = await plans.ok("kari", "GET", f"{base}/events?to={tomorrow['starts_at']}")
    assert "tomorrow" not in [e["title"] for e in edge["items"]]

    moved = await plans.ok("ola", "PATCH", f"{base}/events/{tomorrow['id']}",
                           {"starts_at": soon(200), "ends_at": soon(201), "location": None})
    assert moved["location"] is None and moved["title"] == "tomorrow"

    home = await plans.ok("kari", "GET", base)
    schemas.PlanHome.model_validate(home)
    assert home["title"] == "Kari sin plan" and home["my_role"] == "owner"
    assert home["owner"]["display_name"] == "Kari Nordmann"
    assert home["coordinator"]["display_name"] == "Ola Koordinator"
    assert [e["title"] for e in home["upcoming_events"]] == ["now", "next week", "tomorrow"]

    for title in ("Første kartlegging", "Andre kartlegging"):
        made = await plans.ok("ola", "POST", f"{base}/assessments", {"title": title, "text": "Tekst"})
        schemas.AssessmentOut.model_validate(made)
        assert made["author"]["display_name"] == "Ola Koordinator"
    changed = await plans.ok("ola", "PATCH", f"{base}/assessments/{made['id']}", {"text": "Ny"})
    assert changed["text"] == "Ny" and changed["title"] == "Andre kartlegging"
    listed = await plans.ok("kari", "GET", f"{base}/assessments")
    schemas.AssessmentPage.model_validate(listed)
    assert [a["title"] for a in listed["items"]] == ["Andre kartlegging", "Første kartlegging"]


async def test_access_log_records_every_read_for_owner_and_coordinator(plans: Plans) -> None:
    scene = await build_scene(plans)
    base = f"/v1/plans/{scene.plan}"
    reads = [("per", base), ("per", f"{base}/goals"), ("tor", f"{base}/participants"),
             ("per", f"{base}/goals/{scene.goal}/comments"),
             ("kari", f"{base}/activities/{scene.activity}/comments"),
             ("per", f"{base}/events?from=2031-01-01T00:00:00Z"), ("tor", f"{base}/assessments")]
    for who, path in reads:
        await plans.ok(who, "GET", path)
    # Not content of one plan, and not allowed: neither is logged.
    await plans.ok("per", "GET", "/v1/plans")
    assert (await plans.call("per", "GET", f"{base}/access-log"))[0] == 403
    assert (await plans.call("eva", "GET", f"{base}/goals"))[0] == 404

    log = await plans.ok("kari", "GET", f"{base}/access-log")
    schemas.AccessLogPage.model_validate(log)
    expected = ["plan", "goals", "participants", f"goals/{scene.goal}/comments",
                f"activities/{scene.activity}/comments", "events", "assessments"]
    assert [(e["user"]["display_name"], e["action"], e["resource"]) for e in log["items"]] == [
        (name, "read", resource) for name, resource in zip(
            ["Tor Tidligere", "Per Hjelper", "Kari Nordmann", "Per Hjelper", "Tor Tidligere",
             "Per Hjelper", "Per Hjelper"], reversed(expected), strict=True)]
    assert log["items"][0]["at"] >= log["items"][-1]["at"]

    # The coordinator sees it too, including the owner's look at the log; paging newest first.
    first = await plans.ok("ola", "GET", f"{base}/access-log?limit=3")
    assert [e["resource"] for e in first["items"]] == ["access-log", "assessments", "events"]
    second = await plans.ok("ola", "GET", f"{base}/access-log?limit=3&cursor={first['next_cursor']}")
    assert [e["resource"] for e in second["items"]] == [
        f"activities/{scene.activity}/comments", f"goals/{scene.goal}/comments", "participants"]


async def test_pages_cover_every_item_once(plans: Plans) -> None:
    plan = await plans.new_plan()
    base = f"/v1/plans/{plan}"
    titles = [f"Mål {n}" for n in range(7)]
    for title in titles:
        await plans.ok("ola", "POST", f"{base}/goals", {"title": title})
        await plans.ok("ola", "POST", f"{base}/events", {
            "title": title, "starts_at": "2030-01-01T10:00:00Z", "ends_at": "2030-01-01T11:00:00Z"})
    for path, expected in ((f"{base}/goals", titles), (f"{base}/events", titles)):
        seen, cursor = [], None
        while True:
            answer = await plans.ok("kari", "GET", f"{path}?limit=3"
                                    + (f"&cursor={cursor}" if cursor else ""))
            seen += [item["title"] for item in answer["items"]]
            cursor = answer["next_cursor"]
            if cursor is None:
                break
        assert len(seen) == len(expected) and set(seen) == set(expected)
        if path.endswith("goals"):
            assert seen == expected

    for n in range(3):
        await plans.new_plan(f"Plan {n}", owner="per")
    first = await plans.ok("ola", "GET", "/v1/plans?limit=2")
    rest = await plans.ok("ola", "GET", f"/v1/plans?limit=2&cursor={first['next_cursor']}")
    assert [p["title"] for p in first["items"] + rest["items"]] == [
        "Plan 2", "Plan 1", "Plan 0", "Kari sin plan"]
    assert rest["next_cursor"] is None


async def test_participant_rules_conflicts_and_idempotency(plans: Plans) -> None:
    scene = await build_scene(plans)
    base = f"/v1/plans/{scene.plan}"
    ids = plans.ids
    # The owner stays; the last coordinator stays until there is another.
    assert (await plans.call("ola", "DELETE", f"{base}/participants/{ids['kari']}"))[0] == 409
    assert (await plans.call("ola", "DELETE", f"{base}/participants/{ids['ola']}"))[0] == 409
    assert (await plans.call("ola", "POST", f"{base}/participants",
                             {"user_id": ids["per"], "role": "coordinator"}))[0] == 409
    assert (await plans.call("ola", "DELETE", f"{base}/participants/{ids['eva']}"))[0] == 404
    await plans.ok("ola", "POST", f"{base}/participants", {"user_id": ids["eva"],
                                                           "role": "coordinator"})
    await plans.ok("eva", "DELETE", f"{base}/participants/{ids['ola']}")
    home = await plans.ok("kari", "GET", base)
    assert home["coordinator"]["display_name"] == "Eva Utenfor"

    key = {"Idempotency-Key": "goal-once-1"}
    status, first = await plans.call("eva", "POST", f"{base}/goals", {"title": "Ett mål"}, key)
    again = await plans.call("eva", "POST", f"{base}/goals", {"title": "Ett mål"}, key)
    assert status == 201 and again == (201, first)
    count = await plans.pool.fetchval("select count(*) from goals where title = 'Ett mål'")
    assert count == 1
    other = await plans.call("eva", "POST", f"{base}/goals", {"title": "Noe annet"}, key)
    assert other[0] == 422

    plan_key = {"Idempotency-Key": "plan-once-1"}
    body = {"title": "P", "owner_id": ids["per"], "coordinator_id": ids["ola"]}
    made = await plans.call("admin", "POST", "/v1/plans", body, plan_key)
    assert await plans.call("admin", "POST", "/v1/plans", body, plan_key) == made
    assert await plans.pool.fetchval("select count(*) from plans where title = 'P'") == 1


async def test_openapi_documents_every_route(plans: Plans) -> None:
    document = await plans.ok("kari", "GET", "/openapi.json")
    documented = {(method.upper(), path) for path, ops in document["paths"].items() for method in ops}
    served = {(r.method, r.resource.canonical) for r in plans.app.router.routes()
              if r.method != "HEAD"}
    assert served == documented
    assert "plan.participant_added" in document["info"]["description"]
    for status in ("/healthz", "/readyz"):
        assert (await plans.call(None, "GET", status))[0] == 200


async def test_demo_plan_is_seeded_once(plans: Plans) -> None:
    tokens = {who: plans.headers[who]["Authorization"].removeprefix("Bearer ")
              for who in plans.headers}
    admin = tokens.pop("admin")
    base_url = str(plans.client.make_url(""))
    plan = await demo.seed_demo_plan(base_url, admin, tokens, plans.ids)
    assert plan is not None
    assert await demo.seed_demo_plan(base_url, admin, tokens, plans.ids) is None
    home = await plans.ok("kari", "GET", f"/v1/plans/{plan}")
    assert home["title"] == "Kari sin plan" and len(home["upcoming_events"]) == 3
    goals = (await plans.ok("per", "GET", f"/v1/plans/{plan}/goals"))["items"]
    assert [len(g["activities"]) for g in goals] == [2, 2]
    assert goals[0]["status"] == "in_progress"
    assert len((await plans.ok("ola", "GET", f"/v1/plans/{plan}/assessments"))["items"]) == 1
    assert len((await plans.ok("ola", "GET", "/v1/plans"))["items"]) == 1
