"""Profiles, admin creation of users, public cards, and the create-user command."""

from __future__ import annotations

import asyncio
import os
import sys
import uuid

from services.common.web import DB
from tests.support import AuthHarness, bearer


async def test_profile_edit_validates_and_publishes_user_updated(auth: AuthHarness) -> None:
    user_id = await auth.create_user("kari")
    headers = bearer(await auth.token("kari"))
    response = await auth.client.patch("/v1/users/me", headers=headers, json={
        "display_name": "Kari Nordmann", "phone": "+4791234567", "notify_channel": "sms",
        "locale": "nn", "address": "Storgata 1, 0155 Oslo"})
    assert response.status == 200
    user = await response.json()
    assert user["display_name"] == "Kari Nordmann" and user["notify_channel"] == "sms"
    event = (await auth.tap.wait_for("user.updated"))[0]
    assert event["data"] == {"user_id": user_id, "display_name": "Kari Nordmann",
                             "email": "kari@example.no", "phone": "+4791234567",
                             "notify_channel": "sms", "locale": "nn"}
    me = await (await auth.client.get("/v1/users/me", headers=headers)).json()
    assert me == user


async def test_profile_edit_refuses_bad_contact_details(auth: AuthHarness) -> None:
    await auth.create_user("kari")
    headers = bearer(await auth.token("kari"))
    cases = [
        ({"email": "not-an-address"}, "email"),
        ({"phone": "91234567"}, "phone"),
        ({"notify_channel": "sms"}, "notify_channel"),  # no phone yet
        ({"notify_channel": "pigeon"}, "notify_channel"),
        ({"locale": "sv"}, "locale"),
        ({"display_name": None}, "display_name"),
        ({"display_name": ""}, "display_name"),
        ({"roles": ["admin"]}, "roles"),
    ]
    for body, field in cases:
        response = await auth.client.patch("/v1/users/me", headers=headers, json=body)
        assert response.status == 422, body
        problem = await response.json()
        assert field in [e["field"] for e in problem["errors"]], problem
    me = await (await auth.client.get("/v1/users/me", headers=headers)).json()
    assert me["notify_channel"] == "email" and me["roles"] == []


async def test_admin_creates_users_and_others_may_not(auth: AuthHarness) -> None:
    await auth.create_user("admin", admin=True)
    await auth.create_user("kari")
    admin = bearer(await auth.token("admin"))
    body = {"username": "Ola", "password": "long enough pw", "display_name": "Ola Nordmann",
            "email": "ola@example.no", "phone": "+4799999999", "notify_channel": "sms"}
    forbidden = await auth.client.post("/v1/users", headers=bearer(await auth.token("kari")),
                                       json=body)
    assert forbidden.status == 403
    created = await auth.client.post("/v1/users", headers=admin, json=body)
    assert created.status == 201
    user = await created.json()
    assert user["username"] == "Ola" and user["roles"] == []
    event = (await auth.tap.wait_for("user.created", lambda e: e["data"]["user_id"] == user["id"]))[0]
    assert "password" not in str(event)
    taken = await auth.client.post("/v1/users", headers=admin, json={**body, "username": "OLA"})
    assert taken.status == 409
    await auth.login("ola", "long enough pw")


async def test_create_user_with_an_idempotency_key_creates_once(auth: AuthHarness) -> None:
    await auth.create_user("admin", admin=True)
    admin = {**bearer(await auth.token("admin")), "Idempotency-Key": "create-ola-1"}
    body = {"username": "ola", "password": "long enough pw", "display_name": "Ola",
            "email": "ola@example.no"}
    first = await auth.client.post("/v1/users", headers=admin, json=body)
    again = await auth.client.post("/v1/users", headers=admin, json=body)
    assert first.status == again.status == 201
    assert await first.json() == await again.json()
    other = await auth.client.post("/v1/users", headers=admin, json={**body, "username": "per"})
    assert other.status == 422  # same key, different request
    count = await auth.app[DB].fetchval("select count(*) from users where username <> 'admin'")
    assert count == 1


async def test_public_card_for_users_and_everything_for_admins(auth: AuthHarness) -> None:
    await auth.create_user("admin", admin=True)
    await auth.create_user("kari")
    ola = await auth.create_user("ola", display_name="Ola N", phone="+4790000000")
    card = await auth.client.get(f"/v1/users/{ola}", headers=bearer(await auth.token("kari")))
    assert await card.json() == {"id": ola, "display_name": "Ola N"}
    full = await (await auth.client.get(f"/v1/users/{ola}",
                                        headers=bearer(await auth.token("admin")))).json()
    assert full["phone"] == "+4790000000" and full["email"] == "ola@example.no"
    missing = await auth.client.get(f"/v1/users/{uuid.uuid4()}",
                                    headers=bearer(await auth.token("kari")))
    assert missing.status == 404


async def test_create_user_command_reads_the_password_from_stdin(service_env) -> None:
    env = {**os.environ, **service_env("auth"), "LOG_LEVEL": "WARNING"}
    args = [sys.executable, "-m", "services.auth", "create-user", "--username", "first",
            "--display-name", "First Admin", "--email", "first@example.no", "--admin"]

    async def run(password: str) -> tuple[int, str, str]:
        process = await asyncio.create_subprocess_exec(
            *args, env=env, stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE)
        out, err = await process.communicate(password.encode() + b"\n")
        return process.returncode, out.decode().strip(), err.decode()

    code, out, err = await run("short")
    assert code == 2 and "password" in err
    code, out, _ = await run("a long admin password")
    assert code == 0
    user_id = str(uuid.UUID(out))
    code, _, err = await run("a long admin password")
    assert code == 1 and "taken" in err
    assert user_id


async def test_republish_users_backfills_a_new_projection(auth: AuthHarness) -> None:
    from services.auth import accounts

    ids = {await auth.create_user("kari"), await auth.create_user("ola")}
    async with auth.app[DB].acquire() as conn, conn.transaction():
        assert await accounts.republish_users(conn) == 2
    events = await auth.tap.wait_for("user.updated", count=2)
    assert {e["data"]["user_id"] for e in events} == ids
