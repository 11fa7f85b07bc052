"""What every service's HTTP layer does: CORS for the frontend's origin only, request ids, limits."""

from __future__ import annotations

from tests.support import AuthHarness

FRONTEND = "https://plan.example.no"


async def test_cors_allows_only_the_configured_frontend_origin(make_auth) -> None:
    auth: AuthHarness = await make_auth(CORS_ALLOWED_ORIGINS=f"{FRONTEND}, https://other.example.no")
    preflight = await auth.client.options("/v1/auth/login", headers={
        "Origin": FRONTEND, "Access-Control-Request-Method": "POST",
        "Access-Control-Request-Headers": "content-type"})
    assert preflight.status == 204
    assert preflight.headers["Access-Control-Allow-Origin"] == FRONTEND
    assert "Authorization" in preflight.headers["Access-Control-Allow-Headers"]
    answer = await auth.client.post("/v1/auth/login", json={"username": "x", "password": "y"},
                                    headers={"Origin": FRONTEND})
    assert answer.headers["Access-Control-Allow-Origin"] == FRONTEND
    assert "Retry-After" in answer.headers["Access-Control-Expose-Headers"]
    stranger = await auth.client.post("/v1/auth/login", json={"username": "x", "password": "y"},
                                      headers={"Origin": "https://evil.example"})
    assert "Access-Control-Allow-Origin" not in stranger.headers


async def test_no_cross_origin_access_by_default(auth: AuthHarness) -> None:
    response = await auth.client.get("/healthz", headers={"Origin": FRONTEND})
    assert "Access-Control-Allow-Origin" not in response.headers


async def test_request_ids_are_echoed_or_made(auth: AuthHarness) -> None:
    given = await auth.client.get("/healthz", headers={"X-Request-ID": "frontend-abc.123"})
    assert given.headers["X-Request-ID"] == "frontend-abc.123"
    unsafe = await auth.client.get("/healthz", headers={"X-Request-ID": "bad id\twith tab"})
    assert unsafe.headers["X-Request-ID"] != "bad id\twith tab"
    assert len(unsafe.headers["X-Request-ID"]) == 32
