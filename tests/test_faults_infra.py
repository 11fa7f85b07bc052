"""Fault tests that stop the shared PostgreSQL or RabbitMQ: they run alone (marker `serial`)."""

from __future__ import annotations

import asyncio
import json
import subprocess
from pathlib import Path

import aiohttp
import asyncpg
import pytest

from devtools.processes import ServiceProcess
from services.auth import accounts
from services.auth.passwords import Passwords
from services.auth.schemas import NewUser
from services.common import db
from tests.servers import SmtpServer, find_code

pytestmark = pytest.mark.serial
AUTH_DIR = Path(__file__).resolve().parent.parent / "services" / "auth"


def pg_ctl(action: str) -> None:
    version = sorted(Path("/etc/postgresql").iterdir())[0].name
    subprocess.run(["pg_ctlcluster", "--skip-systemctl-redirect", version, "main", action],
                   check=True, timeout=60)


def rabbitmqctl(action: str) -> None:
    subprocess.run(["rabbitmqctl", "-q", action], check=True, timeout=120)


async def add_user(url: str, username: str, admin: bool = False, **fields: str) -> None:
    await db.apply_migrations(url, AUTH_DIR)
    pool = await db.create_pool(url, 1, 1)
    try:
        new_user = NewUser(username=username, password="a long password", display_name=username,
                           email=f"{username}@example.no", roles=["admin"] if admin else [], **fields)
        password_hash = await Passwords(1, 8192, 1).hash(new_user.password)
        async with pool.acquire() as conn, conn.transaction():
            await accounts.create_user(conn, new_user, password_hash)
    finally:
        await pool.close()


async def token_via_smtp(session: aiohttp.ClientSession, auth: ServiceProcess, smtp: SmtpServer,
                         username: str) -> str:
    async with session.post(f"{auth.url}/v1/auth/login",
                            json={"username": username, "password": "a long password"}) as r:
        challenge = await r.json()
    mail = (await smtp.wait_for(1, to=f"{username}@example.no", timeout=20))[-1]
    async with session.post(f"{auth.url}/v1/auth/verify", json={
            "challenge_id": challenge["challenge_id"], "code": find_code(mail.text)}) as r:
        return (await r.json())["access_token"]


async def test_postgres_restart_under_load(service_env, smtp_server: SmtpServer, tmp_path: Path
                                          ) -> None:
    env = service_env("auth")
    await add_user(env["AUTH_DATABASE_URL"], "admin", admin=True)
    notifier = ServiceProcess("notifier", service_env("notifier", **smtp_server.env()))
    log_path = tmp_path / "auth.log"
    auth = ServiceProcess("auth", env, log=log_path.open("wb"))
    await notifier.start()
    await auth.start()
    created: list[str] = []
    statuses: list[int] = []
    readiness: list[int] = []
    try:
        timeout = aiohttp.ClientTimeout(total=10)
        async with aiohttp.ClientSession(timeout=timeout) as session:
            token = await token_via_smtp(session, auth, smtp_server, "admin")
            headers = {"Authorization": f"Bearer {token}"}

            async def create(n: int) -> None:
                body = {"username": f"user{n}", "password": "a long password",
                        "display_name": f"User {n}", "email": f"user{n}@example.no"}
                try:
                    async with session.post(f"{auth.url}/v1/users", json=body, headers=headers) as r:
                        statuses.append(r.status)
                        if r.status == 201:
                            created.append(body["username"])
                except (aiohttp.ClientError, TimeoutError):
                    statuses.append(0)

            async def load(seconds: float) -> None:
                loop = asyncio.get_running_loop()
                deadline, n = loop.time() + seconds, 0
                while loop.time() < deadline:
                    await asyncio.gather(*(create(n + k) for k in range(4)))
                    n += 4

            async def watch() -> None:
                while True:
                    try:
                        async with session.get(f"{auth.url}/readyz") as r:
                            readiness.append(r.status)
                    except (aiohttp.ClientError, TimeoutError):
                        readiness.append(0)
                    await asyncio.sleep(0.05)

            watcher = asyncio.create_task(watch())
            loader = asyncio.create_task(load(8))
            await asyncio.sleep(1)
            await asyncio.to_thread(pg_ctl, "stop")
            await asyncio.sleep(2)
            await asyncio.to_thread(pg_ctl, "start")
            await loader
            assert await auth.wait_ready(30) == 200
            await asyncio.sleep(0.2)
            watcher.cancel()
        assert auth.process.returncode is None  # recovered without a restart
        assert 503 in readiness and readiness[-1] == 200
        assert statuses[-4:] == [201] * 4  # creating works again after the outage
        unhandled = [json.loads(line).get("error") for line in log_path.read_text().splitlines()
                     if "unhandled" in line]
        assert set(statuses) <= {201, 503}, (sorted(set(statuses)), unhandled[:3])
        conn = await asyncpg.connect(env["AUTH_DATABASE_URL"])
        try:
            stored = {r["username"] for r in await conn.fetch("select username from users")}
        finally:
            await conn.close()
        assert set(created) <= stored  # no 201 without its row
    finally:
        await auth.stop()
        await notifier.stop()


async def test_rabbitmq_stopped_during_logins(service_env, smtp_server: SmtpServer, tmp_path: Path
                                             ) -> None:
    env = service_env("auth")
    for n in range(5):
        await add_user(env["AUTH_DATABASE_URL"], f"person{n}")
    notifier = ServiceProcess("notifier", service_env("notifier", **smtp_server.env()),
                              log=(tmp_path / "notifier.log").open("wb"))
    auth = ServiceProcess("auth", env, log=(tmp_path / "auth.log").open("wb"))
    await notifier.start()
    await auth.start()
    try:
        async with aiohttp.ClientSession() as session:
            await asyncio.to_thread(rabbitmqctl, "stop_app")
            try:
                assert await auth.wait_ready(2) == 503
                for n in range(5):
                    async with session.post(f"{auth.url}/v1/auth/login", json={
                            "username": f"person{n}", "password": "a long password"}) as r:
                        assert r.status == 200
                await asyncio.sleep(1)
                assert smtp_server.messages == []
            finally:
                await asyncio.to_thread(rabbitmqctl, "start_app")
            mails = await smtp_server.wait_for(5, timeout=60)
            assert sorted(m.to for m in mails) == [f"person{n}@example.no" for n in range(5)]
            await asyncio.sleep(1)
            assert len(smtp_server.messages) == 5  # none twice
            assert await auth.wait_ready(30) == 200
            assert await notifier.wait_ready(30) == 200
    finally:
        await auth.stop()
        await notifier.stop()


@pytest.mark.timeout(240)
async def test_rabbitmq_stopped_during_sends(service_env, smtp_server: SmtpServer,
                                            sms_gateway) -> None:
    from tests.walkthrough import System

    system = System(service_env, smtp_server, sms_gateway, replicas=1, ALERT_POLL_SECONDS="0.2")
    await system.start()
    try:
        await system.create_first_admin("admin")
        await system.login("admin", "admin@example.no")
        await system.create_user("ola", "+4793000000", "email")
        people = [await system.create_user(f"person{n}", f"+47930000{n:02d}", "sms")
                  for n in range(1, 7)]
        await system.login("ola", "ola@example.no")
        plan = await system.call("admin", "POST", "/v1/plans", {
            "title": "Plan", "owner_id": people[0], "coordinator_id": system.ids["ola"]},
            expect=201, retry_on=(422,))
        for person in people[1:]:
            await system.call("ola", "POST", f"/v1/plans/{plan['id']}/participants",
                              {"user_id": person, "role": "participant"}, expect=201, retry_on=(422,))
        await system.call("ola", "POST", "/v1/messages", {  # messages knows the whole plan now
            "plan_id": plan["id"], "recipient_ids": people[-1:], "subject": "s", "body": "b"},
            expect=201, retry_on=(404, 422))
        await sms_gateway.wait_for(1, timeout=20)

        await asyncio.to_thread(rabbitmqctl, "stop_app")
        try:
            for person in people[:-1]:  # one message each, to people with nothing unread
                await system.call("ola", "POST", "/v1/messages", {
                    "plan_id": plan["id"], "recipient_ids": [person], "subject": "s",
                    "body": "b"}, expect=201)
            await asyncio.sleep(1)
            assert len(sms_gateway.messages) == 1  # nothing can be alerted yet
        finally:
            await asyncio.to_thread(rabbitmqctl, "start_app")
        await sms_gateway.wait_for(6, timeout=90)
        await asyncio.sleep(2)
        assert sorted(m.to for m in sms_gateway.messages) == sorted(
            f"+47930000{n:02d}" for n in range(1, 7))  # everyone once, no one twice
    finally:
        await system.stop()
