"""Login with password and one-time code, refresh, logout and password change, against real servers."""

from __future__ import annotations

import asyncio
import uuid

from services.common.web import DB
from tests.support import DEFAULT_PASSWORD, AuthHarness, bearer


async def test_login_issues_a_code_then_tokens(auth: AuthHarness) -> None:
    user_id = await auth.create_user("kari", phone="+4791234567", notify_channel="sms")
    challenge = await auth.start_login("KARI")  # usernames ignore case
    assert challenge["channel"] == "sms"
    event = (await auth.tap.wait_for("otp.requested"))[0]
    assert event["data"]["destination"] == "+4791234567"
    assert event["data"]["user_id"] == user_id
    response = await auth.client.post("/v1/auth/verify", json={
        "challenge_id": challenge["challenge_id"], "code": event["data"]["code"]})
    assert response.status == 200
    tokens = await response.json()
    assert tokens["token_type"] == "Bearer" and tokens["expires_in"] == 900
    me = await auth.client.get("/v1/users/me", headers=bearer(tokens["access_token"]))
    assert me.status == 200
    assert (await me.json())["id"] == user_id


async def test_code_goes_by_email_when_channel_is_email_or_none(auth: AuthHarness) -> None:
    await auth.create_user("ola", notify_channel="none")
    challenge = await auth.start_login("ola")
    assert challenge["channel"] == "email"
    event = (await auth.tap.wait_for("otp.requested"))[0]
    assert event["data"]["destination"] == "ola@example.no"


async def test_unknown_user_and_wrong_password_get_the_same_401(auth: AuthHarness) -> None:
    await auth.create_user("kari")
    wrong = await auth.client.post("/v1/auth/login", json={"username": "kari", "password": "nope"})
    unknown = await auth.client.post("/v1/auth/login",
                                     json={"username": "nobody", "password": "nope"})
    assert wrong.status == unknown.status == 401
    assert await wrong.json() == await unknown.json()


async def test_a_code_is_single_use(auth: AuthHarness) -> None:
    await auth.create_user("kari")
    challenge = await auth.start_login("kari")
    code = await auth.code_for(challenge["challenge_id"])
    body = {"challenge_id": challenge["challenge_id"], "code": code}
    assert (await auth.client.post("/v1/auth/verify", json=body)).status == 200
    assert (await auth.client.post("/v1/auth/verify", json=body)).status == 401


async def test_five_wrong_codes_kill_the_challenge(auth: AuthHarness) -> None:
    await auth.create_user("kari")
    challenge = await auth.start_login("kari")
    code = await auth.code_for(challenge["challenge_id"])
    wrong = f"{(int(code) + 1) % 1_000_000:06d}"
    for _ in range(5):
        response = await auth.client.post(
            "/v1/auth/verify", json={"challenge_id": challenge["challenge_id"], "code": wrong})
        assert response.status == 401
    response = await auth.client.post(
        "/v1/auth/verify", json={"challenge_id": challenge["challenge_id"], "code": code})
    assert response.status == 401


async def test_an_expired_code_is_refused(make_auth) -> None:
    auth = await make_auth(OTP_TTL_SECONDS="1")
    await auth.create_user("kari")
    challenge = await auth.start_login("kari")
    code = await auth.code_for(challenge["challenge_id"])
    await asyncio.sleep(1.2)
    response = await auth.client.post(
        "/v1/auth/verify", json={"challenge_id": challenge["challenge_id"], "code": code})
    assert response.status == 401


async def test_resend_sends_a_new_code_and_is_limited(make_auth) -> None:
    auth = await make_auth(OTP_RESEND_INTERVAL_SECONDS="0", OTP_MAX_RESENDS="2")
    client = auth.client
    await auth.create_user("kari")
    challenge = await auth.start_login("kari")
    first = await auth.code_for(challenge["challenge_id"])
    body = {"challenge_id": challenge["challenge_id"]}
    assert (await client.post("/v1/auth/resend", json=body)).status == 204
    assert (await client.post("/v1/auth/resend", json=body)).status == 204
    limited = await client.post("/v1/auth/resend", json=body)
    assert limited.status == 429 and "Retry-After" in limited.headers
    latest = await auth.code_for(challenge["challenge_id"], nth=3)
    if latest != first:  # one in a million the fresh code repeats the first
        assert (await client.post("/v1/auth/verify", json={**body, "code": first})).status == 401
    assert (await client.post("/v1/auth/verify", json={**body, "code": latest})).status == 200


async def test_resend_too_soon_is_429_with_retry_after(auth: AuthHarness) -> None:
    await auth.create_user("kari")
    challenge = await auth.start_login("kari")
    response = await auth.client.post("/v1/auth/resend",
                                      json={"challenge_id": challenge["challenge_id"]})
    assert response.status == 429
    assert 1 <= int(response.headers["Retry-After"]) <= 30


async def test_resend_of_an_unknown_challenge_is_404(auth: AuthHarness) -> None:
    response = await auth.client.post("/v1/auth/resend", json={"challenge_id": str(uuid.uuid4())})
    assert response.status == 404


async def test_refresh_rotates_and_reuse_ends_the_session(auth: AuthHarness) -> None:
    await auth.create_user("kari")
    first = await auth.login("kari")
    response = await auth.client.post("/v1/auth/refresh",
                                      json={"refresh_token": first["refresh_token"]})
    assert response.status == 200
    second = await response.json()
    assert second["refresh_token"] != first["refresh_token"]
    assert (await auth.client.get("/v1/users/me", headers=bearer(second["access_token"]))).status == 200
    reuse = await auth.client.post("/v1/auth/refresh", json={"refresh_token": first["refresh_token"]})
    assert reuse.status == 401
    # The reuse ended the session: the newest refresh token is dead too, and so is the session.
    again = await auth.client.post("/v1/auth/refresh", json={"refresh_token": second["refresh_token"]})
    assert again.status == 401
    assert (await auth.client.get("/v1/users/me", headers=bearer(second["access_token"]))).status == 401


async def test_logout_ends_the_session(auth: AuthHarness) -> None:
    await auth.create_user("kari")
    tokens = await auth.login("kari")
    response = await auth.client.post("/v1/auth/logout", headers=bearer(tokens["access_token"]))
    assert response.status == 204
    refresh = await auth.client.post("/v1/auth/refresh", json={"refresh_token": tokens["refresh_token"]})
    assert refresh.status == 401
    assert (await auth.client.get("/v1/users/me", headers=bearer(tokens["access_token"]))).status == 401


async def test_password_change_ends_other_sessions(auth: AuthHarness) -> None:
    await auth.create_user("kari")
    here = await auth.login("kari")
    elsewhere = await auth.login("kari")
    wrong = await auth.client.post("/v1/users/me/password", headers=bearer(here["access_token"]),
                                   json={"current_password": "not it", "new_password": "a new one 123"})
    assert wrong.status == 422
    response = await auth.client.post(
        "/v1/users/me/password", headers=bearer(here["access_token"]),
        json={"current_password": DEFAULT_PASSWORD, "new_password": "a new one 123"})
    assert response.status == 204
    assert (await auth.client.get("/v1/users/me", headers=bearer(here["access_token"]))).status == 200
    gone = await auth.client.post("/v1/auth/refresh",
                                  json={"refresh_token": elsewhere["refresh_token"]})
    assert gone.status == 401
    old = await auth.client.post("/v1/auth/login", json={"username": "kari", "password": DEFAULT_PASSWORD})
    assert old.status == 401
    await auth.login("kari", "a new one 123")


async def test_failed_passwords_throttle_the_account_even_for_the_right_password(
    auth: AuthHarness,
) -> None:
    await auth.create_user("kari")
    for _ in range(5):
        response = await auth.client.post("/v1/auth/login",
                                          json={"username": "kari", "password": "guess"})
        assert response.status == 401
    blocked = await auth.client.post("/v1/auth/login",
                                     json={"username": "kari", "password": DEFAULT_PASSWORD})
    assert blocked.status == 429
    assert int(blocked.headers["Retry-After"]) > 0
    # An unknown name throttles the same way, so a 429 does not reveal that an account exists.
    for _ in range(5):
        await auth.client.post("/v1/auth/login", json={"username": "ghost", "password": "guess"})
    ghost = await auth.client.post("/v1/auth/login", json={"username": "ghost", "password": "x"})
    assert ghost.status == 429
    # Other people behind the same address are not locked out by this.
    await auth.create_user("ola")
    await auth.login("ola")


async def test_an_address_is_throttled_at_a_much_higher_threshold(make_auth) -> None:
    auth = await make_auth(LOGIN_MAX_FAILURES_PER_ADDRESS="12")
    await auth.create_user("kari")
    for n in range(12):
        response = await auth.client.post("/v1/auth/login",
                                          json={"username": f"user{n}", "password": "guess"})
        assert response.status == 401
    blocked = await auth.client.post("/v1/auth/login",
                                     json={"username": "kari", "password": DEFAULT_PASSWORD})
    assert blocked.status == 429
    rows = await auth.app[DB].fetch("select key from login_throttle where blocked_until > now()")
    assert [r["key"] for r in rows] == ["ip:127.0.0.1"]
