"""Access control over every plans route: 401 without a token, 404 outside the plan, 403 for a
participant attempting a coordinator action; and the denials change nothing."""

from __future__ import annotations

import uuid

from tests.plans_support import Plans, Scene, build_scene, plans_fixture  # noqa: F401  (fixture)

READ, COMMENT, MANAGE, LOG = "read", "comment", "manage", "log"
P = "/v1/plans/{plan}"

# (method, path, body, who may: READ and COMMENT any participant, MANAGE coordinators,
# LOG owner and coordinators). Removing per comes last: the allowed sweep runs it for real.
ROUTES = [
    ("GET", P, None, READ),
    ("GET", P + "/participants", None, READ),
    ("POST", P + "/participants", {"user_id": "{eva}", "role": "participant"}, MANAGE),
    ("GET", P + "/goals", None, READ),
    ("POST", P + "/goals", {"title": "Nytt mål"}, MANAGE),
    ("PATCH", P + "/goals/{goal}", {"status": "completed"}, MANAGE),
    ("POST", P + "/goals/{goal}/activities", {"title": "Ny aktivitet"}, MANAGE),
    ("PATCH", P + "/activities/{activity}", {"title": "Endret"}, MANAGE),
    ("GET", P + "/goals/{goal}/comments", None, READ),
    ("POST", P + "/goals/{goal}/comments", {"text": "Hei", "status": "in_progress"}, COMMENT),
    ("GET", P + "/activities/{activity}/comments", None, READ),
    ("POST", P + "/activities/{activity}/comments", {"text": "Hei"}, COMMENT),
    ("GET", P + "/events?from=2030-01-01T00:00:00Z&to=2032-01-01T00:00:00Z", None, READ),
    ("POST", P + "/events", {"title": "Møte", "starts_at": "2031-01-01T10:00:00Z",
                             "ends_at": "2031-01-01T11:00:00Z"}, MANAGE),
    ("PATCH", P + "/events/{event}", {"location": "Rådhuset"}, MANAGE),
    ("GET", P + "/assessments", None, READ),
    ("POST", P + "/assessments", {"title": "Kartlegging 2", "text": "Tekst"}, MANAGE),
    ("PATCH", P + "/assessments/{assessment}", {"text": "Ny tekst"}, MANAGE),
    ("GET", P + "/access-log", None, LOG),
    ("DELETE", P + "/participants/{per}", None, MANAGE),
]


def fill(template: object, values: dict[str, str]) -> object:
    if isinstance(template, str):
        return template.format(**values)
    if isinstance(template, dict):
        return {key: fill(value, values) for key, value in template.items()}
    return template


def values_for(plans: Plans, scene: Scene, plan: str | None = None) -> dict[str, str]:
    return {"plan": plan or scene.plan, "goal": scene.goal, "activity": scene.activity,
            "event": scene.event, "assessment": scene.assessment, **plans.ids}


async def expect(plans: Plans, who: str | None, method: str, path: str, body: object,
                 status: int, headers: dict[str, str] | None = None) -> None:
    response = await plans.client.request(method, path, json=body, headers={
        **(plans.headers[who] if who else {}), **(headers or {})})
    assert response.status == status, (who, method, path, await response.text())
    assert response.content_type == "application/problem+json"
    assert (await response.json())["status"] == status


async def test_every_route_denies_those_who_may_not(plans: Plans) -> None:
    scene = await build_scene(plans)
    await plans.ok("ola", "DELETE", f"/v1/plans/{scene.plan}/participants/{plans.ids['tor']}")
    values = values_for(plans, scene)
    before = await plans.snapshot()

    for method, template, body_template, allowed in ROUTES:
        path, body = fill(template, values), fill(body_template, values)
        await expect(plans, None, method, path, body, 401)
        await expect(plans, None, method, path, body, 401, {"Authorization": "Bearer not.a.jwt"})
        await expect(plans, None, method, path, body, 401, {"Authorization": "Basic a2FyaTp4"})
        # Outside the plan, removed from it, or an admin who is not in it: no such plan.
        for outsider in ("eva", "tor", "admin"):
            await expect(plans, outsider, method, path, body, 404)
        missing = fill(template, values_for(plans, scene, str(uuid.uuid4())))
        await expect(plans, "ola", method, missing, body, 404)
        if allowed in (MANAGE, LOG):
            await expect(plans, "per", method, path, body, 403)
        if allowed == MANAGE:
            await expect(plans, "kari", method, path, body, 403)

    plan_body = {"title": "Ny", "owner_id": plans.ids["per"], "coordinator_id": plans.ids["ola"]}
    for who in ("kari", "ola", "per"):
        await expect(plans, who, "POST", "/v1/plans", plan_body, 403)
    await expect(plans, None, "POST", "/v1/plans", plan_body, 401)
    await expect(plans, None, "GET", "/v1/plans", None, 401)
    assert await plans.snapshot() == before


async def test_every_route_lets_those_who_may(plans: Plans) -> None:
    scene = await build_scene(plans)
    values = values_for(plans, scene)
    for method, template, body_template, allowed in ROUTES:
        path, body = fill(template, values), fill(body_template, values)
        callers = {READ: ("kari", "ola", "per"), COMMENT: ("kari", "ola", "per"),
                   LOG: ("kari", "ola"), MANAGE: ("ola",)}[allowed]
        for who in callers:
            status, answer = await plans.call(who, method, path, body)
            assert status in (200, 201, 204), (who, method, path, answer)
    assert (await plans.call("per", "GET", fill(P, values)))[0] == 404
