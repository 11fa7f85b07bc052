"""Bad input on every auth route: a clear problem, never a 500, and nothing changed."""

from __future__ import annotations

import asyncio
import json
import uuid

import pytest

from services.common.web import DB
from tests.support import AuthHarness, bearer

TABLES = ("users", "otp_challenges", "sessions", "refresh_tokens", "outbox", "idempotency_keys",
          "login_throttle")

# (method, path, who calls, a body with wrong or missing fields, fields the 422 must name)
BODY_ROUTES = [
    ("POST", "/v1/auth/login", None, {"username": 7}, {"username", "password"}),
    ("POST", "/v1/auth/verify", None, {"challenge_id": "x", "code": "12ab"}, {"code"}),
    ("POST", "/v1/auth/resend", None, {"challenge_id": ["x"]}, {"challenge_id"}),
    ("POST", "/v1/auth/refresh", None, {"refresh_token": None}, {"refresh_token"}),
    ("PATCH", "/v1/users/me", "kari", {"email": "nope", "phone": "123"}, {"email", "phone"}),
    ("POST", "/v1/users/me/password", "kari", {"new_password": "short"},
     {"current_password", "new_password"}),
    ("POST", "/v1/users", "admin", {"username": "a", "password": "x", "roles": ["root"]},
     {"username", "password", "display_name", "email", "roles.0"}),
]


async def snapshot(auth: AuthHarness) -> str:
    """Every row auth keeps, once the relay has sent what was waiting (it deletes sent rows)."""
    for _ in range(100):
        if await auth.app[DB].fetchval("select count(*) from outbox") == 0:
            break
        await asyncio.sleep(0.05)
    rows = {}
    async with auth.app[DB].acquire() as conn:
        for table in TABLES:
            rows[table] = [dict(r) for r in await conn.fetch(f"select * from {table} order by 1")]
    return json.dumps(rows, default=str, sort_keys=True)


@pytest.fixture
async def setup(auth: AuthHarness) -> dict[str, dict[str, str]]:
    await auth.create_user("admin", admin=True)
    await auth.create_user("kari")
    return {"kari": bearer(await auth.token("kari")), "admin": bearer(await auth.token("admin"))}


async def test_bad_bodies_get_problems_and_change_nothing(auth: AuthHarness, setup) -> None:
    before = await snapshot(auth)
    for method, path, who, wrong, fields in BODY_ROUTES:
        headers = {**(setup[who] if who else {}), "Content-Type": "application/json"}
        cases = [
            (b"{not json", 400),
            (b"", 400),
            (b"[1, 2]", 422),
            (b"\xff\xfe", 400),
            (json.dumps(wrong).encode(), 422),
            (json.dumps({**wrong, "surprise": 1}).encode(), 422),
            (b'{"x": "' + b"a" * 70_000 + b'"}', 413),
        ]
        for body, status in cases:
            response = await auth.client.request(method, path, data=body, headers=headers)
            assert response.status == status, (method, path, body[:40], await response.text())
            assert response.content_type == "application/problem+json"
            problem = await response.json()
            assert {"type", "title", "status", "detail"} <= problem.keys()
            if body == json.dumps(wrong).encode():
                named = {e["field"] for e in problem["errors"]}
                assert fields <= named, (path, named)
    assert await snapshot(auth) == before


async def test_ids_that_are_not_uuids_are_422_and_unknown_routes_404(auth: AuthHarness, setup
                                                                    ) -> None:
    response = await auth.client.get("/v1/users/not-a-uuid", headers=setup["kari"])
    assert response.status == 422
    assert (await response.json())["errors"][0]["field"] == "user_id"
    verify = await auth.client.post("/v1/auth/verify",
                                    json={"challenge_id": "nope", "code": "123456"})
    assert verify.status == 422
    missing = await auth.client.get("/v1/nothing-here")
    assert missing.status == 404 and missing.content_type == "application/problem+json"
    wrong_method = await auth.client.delete("/v1/users/me", headers=setup["kari"])
    assert wrong_method.status == 405


async def test_unknown_challenge_with_valid_shape_is_401(auth: AuthHarness) -> None:
    response = await auth.client.post(
        "/v1/auth/verify", json={"challenge_id": str(uuid.uuid4()), "code": "123456"})
    assert response.status == 401
