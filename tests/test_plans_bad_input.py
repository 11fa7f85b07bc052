"""Bad input on every plans route: a clear problem (400, 422, 413), never a 500, nothing changed."""

from __future__ import annotations

import base64
import json

from tests.plans_support import Plans, build_scene, plans_fixture  # noqa: F401  (fixture)
from tests.test_plans_access import P, fill, values_for

T1, T2 = "2031-01-01T10:00:00Z", "2031-01-01T11:00:00Z"

# (method, path, a body with wrong or missing fields, the fields the 422 must name)
BODY_ROUTES = [
    ("POST", "/v1/plans", {"title": "", "owner_id": "kari", "coordinator_id": 7},
     {"title", "owner_id", "coordinator_id"}),
    ("POST", P + "/participants", {"user_id": "not-a-uuid", "role": "owner"}, {"user_id", "role"}),
    ("POST", P + "/goals", {"title": "  ", "description": ["x"]}, {"title", "description"}),
    ("PATCH", P + "/goals/{goal}", {"title": None, "status": "done"}, {"title", "status"}),
    ("POST", P + "/goals/{goal}/activities",
     {"title": "x" * 201, "due_date": "2031-13-01", "responsible_id": "per"},
     {"title", "due_date", "responsible_id"}),
    ("PATCH", P + "/activities/{activity}",
     {"status": None, "goal_id": "g", "due_date": "2031-05-01T10:00:00Z"},
     {"status", "goal_id", "due_date"}),
    ("POST", P + "/goals/{goal}/comments", {"text": "", "status": "finished"}, {"text", "status"}),
    ("POST", P + "/activities/{activity}/comments", {"text": "x" * 5001}, {"text"}),
    ("POST", P + "/events", {"title": "Møte", "starts_at": "2031-01-01T10:00:00",
                             "ends_at": 1924992000, "location": "a\u0000b"},
     {"starts_at", "ends_at", "location"}),
    ("PATCH", P + "/events/{event}", {"starts_at": None, "ends_at": "tomorrow"},
     {"starts_at", "ends_at"}),
    ("POST", P + "/assessments", {"title": "Kartlegging"}, {"text"}),
    ("PATCH", P + "/assessments/{assessment}", {"text": None}, {"text"}),
]
# Bodies that are well formed but that the plan or the users refuse, each naming one field.
REFUSED = [
    ("POST", "/v1/plans", {"title": "P", "owner_id": "{eva}", "coordinator_id": "{eva}"},
     "coordinator_id"),
    ("POST", "/v1/plans", {"title": "P", "owner_id": "{unknown}", "coordinator_id": "{ola}"},
     "owner_id"),
    ("POST", P + "/participants", {"user_id": "{unknown}", "role": "participant"}, "user_id"),
    ("POST", P + "/goals/{goal}/activities", {"title": "A", "responsible_id": "{eva}"},
     "responsible_id"),
    ("PATCH", P + "/activities/{activity}", {"responsible_id": "{eva}"}, "responsible_id"),
    ("PATCH", P + "/activities/{activity}", {"goal_id": "{unknown}"}, "goal_id"),
    ("POST", P + "/events", {"title": "M", "starts_at": T2, "ends_at": T1}, "ends_at"),
    ("POST", P + "/events", {"title": "M", "starts_at": T1, "ends_at": T1}, "ends_at"),
    ("PATCH", P + "/events/{event}", {"starts_at": "2031-05-02T11:30:00+02:00"}, "ends_at"),
    ("PATCH", P + "/goals/{goal}", {}, ""),
    ("POST", P + "/goals", {"title": "M", "surprise": 1}, "surprise"),
]
LIST_ROUTES = [
    "/v1/plans", P + "/participants", P + "/goals", P + "/goals/{goal}/comments",
    P + "/activities/{activity}/comments", P + "/events", P + "/assessments", P + "/access-log",
]
ID_ROUTES = [
    ("GET", P, "plan_id"), ("GET", P + "/goals", "plan_id"),
    ("DELETE", P + "/participants/{bad}", "user_id"),
    ("PATCH", P + "/goals/{bad}", "goal_id"), ("POST", P + "/goals/{bad}/activities", "goal_id"),
    ("PATCH", P + "/activities/{bad}", "activity_id"),
    ("GET", P + "/goals/{bad}/comments", "goal_id"),
    ("POST", P + "/activities/{bad}/comments", "activity_id"),
    ("PATCH", P + "/events/{bad}", "event_id"), ("PATCH", P + "/assessments/{bad}", "assessment_id"),
]


def cursor(values: object) -> str:
    return base64.urlsafe_b64encode(json.dumps(values).encode()).decode().rstrip("=")


async def problem(plans: Plans, who: str, method: str, path: str, status: int,
                  data: bytes | None = None, headers: dict[str, str] | None = None) -> dict:
    response = await plans.client.request(method, path, data=data, headers={
        **plans.headers[who], "Content-Type": "application/json", **(headers or {})})
    assert response.status == status, (method, path, (data or b"")[:60], await response.text())
    assert response.content_type == "application/problem+json"
    body = await response.json()
    assert {"type", "title", "status", "detail"} <= body.keys()
    return body


async def test_bad_bodies_get_problems_and_change_nothing(plans: Plans) -> None:
    scene = await build_scene(plans)
    values = {**values_for(plans, scene), "unknown": "6f1c1f0e-3b1e-4d6a-9c59-3d3c6f1f0a11"}
    before = await plans.snapshot()
    for method, template, wrong, fields in BODY_ROUTES:
        who = "admin" if template == "/v1/plans" else "ola"
        path = fill(template, values)
        for data, status in [(b"{not json", 400), (b"", 400), (b"\xff\xfe", 400), (b"[1, 2]", 422),
                             (b"null", 422), (b'"text"', 422),
                             (b"[" * 30_000 + b"]" * 30_000, 400), (b'{"a":' * 10_000, 400),
                             (b'{"x": "' + b"a" * 70_000 + b'"}', 413)]:
            await problem(plans, who, method, path, status, data)
        body = await problem(plans, who, method, path, 422, json.dumps(wrong).encode())
        named = {error["field"] for error in body["errors"]}
        assert fields <= named, (template, named)
        await problem(plans, who, method, path, 422, json.dumps({**wrong, "surprise": 1}).encode())
    for method, template, refused, field in REFUSED:
        who = "admin" if template == "/v1/plans" else "ola"
        body = await problem(plans, who, method, fill(template, values), 422,
                             json.dumps(fill(refused, values)).encode())
        assert field in {error["field"] for error in body["errors"]}, (template, body)
    bad_key = await problem(plans, "ola", "POST", fill(P + "/goals", values), 422,
                            json.dumps({"title": "M"}).encode(), {"Idempotency-Key": "has space"})
    assert bad_key["errors"][0]["field"] == "Idempotency-Key"
    assert await plans.snapshot() == before


async def test_ids_that_are_not_uuids_are_422(plans: Plans) -> None:
    scene = await build_scene(plans)
    values = values_for(plans, scene)
    before = await plans.snapshot()
    for method, template, field in ID_ROUTES:
        for bad in ("not-a-uuid", "1234", "%00"):
            path_values = {**values, "bad": bad, "plan": bad if field == "plan_id" else scene.plan}
            body = await problem(plans, "ola", method, fill(template, path_values), 422,
                                 b'{"title": "x", "text": "x"}')
            assert body["errors"][0]["field"] == field
    assert await plans.snapshot() == before


async def test_limits_cursors_and_ranges_out_of_bounds_are_422(plans: Plans) -> None:
    scene = await build_scene(plans)
    values = values_for(plans, scene)
    before = await plans.snapshot()
    wrong_cursors = ["%%%", "bm9wZQ", cursor([1, 2]), cursor(["x", "y"]), cursor([T1]),
                     cursor([T1, "not-a-uuid"]), cursor(["2031-01-01", "0" * 32]),
                     cursor({"a": 1}), cursor([T1, True]), cursor(["2031-01-01T10:00:00", 5])]
    for template in LIST_ROUTES:
        path = fill(template, values)
        for limit in ("0", "201", "-1", "abc", "1.5", "", "99999999999999999999"):
            body = await problem(plans, "ola", "GET", f"{path}?limit={limit}", 422)
            assert body["errors"][0]["field"] == "limit"
        for wrong in wrong_cursors:
            body = await problem(plans, "ola", "GET", f"{path}?cursor={wrong}", 422)
            assert body["errors"][0]["field"] == "cursor", (path, wrong)
    events = fill(P + "/events", values)
    for query, field in [("from=yesterday", "from"), ("to=2031-01-01", "to"),
                         ("from=2031-01-01T10:00:00", "from"), (f"from={T2}&to={T1}", "to"),
                         (f"from={T1}&to={T1}", "to"), ("from=0001-01-01T00:00:00%2B01:00", "from")]:
        body = await problem(plans, "kari", "GET", f"{events}?{query}", 422)
        assert body["errors"][0]["field"] == field
    assert await plans.snapshot() == before
