"""Faults of the system's own processes: replicas stopped under load, the notifier killed."""

from __future__ import annotations

import asyncio
import signal
import uuid
from collections import Counter
from collections.abc import AsyncIterator, Awaitable, Callable

import asyncpg
import pytest

from devtools.processes import ServiceProcess
from tests.servers import SmsGateway, SmtpServer
from tests.support import EventTap
from tests.walkthrough import System

MakeSystem = Callable[..., Awaitable[System]]


@pytest.fixture
async def make_system(service_env, smtp_server: SmtpServer, sms_gateway: SmsGateway,
                      event_tap: EventTap) -> AsyncIterator[MakeSystem]:
    systems: list[System] = []

    async def make(replicas: int, **extra: str) -> System:
        system = System(service_env, smtp_server, sms_gateway, replicas, **extra)
        systems.append(system)
        await system.start()
        return system

    yield make
    for system in systems:
        await system.stop()


async def plan_with_people(system: System, people: int) -> tuple[str, list[str]]:
    """Ola coordinates a plan with `people` participants alerted by SMS; (plan id, their ids)."""
    await system.create_first_admin("admin")
    await system.login("admin", "admin@example.no")
    await system.create_user("ola", "+4792999999", "email")
    members = [await system.create_user(f"person{n}", f"+479200{n:04d}", "sms") for n in range(people)]
    await system.login("ola", "ola@example.no")
    plan = await system.call("admin", "POST", "/v1/plans", {
        "title": "Plan", "owner_id": members[0], "coordinator_id": system.ids["ola"]},
        expect=201, retry_on=(422,))
    for member in members[1:]:
        await system.call("ola", "POST", f"/v1/plans/{plan['id']}/participants",
                          {"user_id": member, "role": "participant"}, expect=201, retry_on=(422,))
    return plan["id"], members


async def send(system: System, plan_id: str, recipients: list[str]) -> dict:
    return await system.call("ola", "POST", "/v1/messages", {
        "plan_id": plan_id, "recipient_ids": recipients, "subject": "Hei", "body": "Tekst"},
        expect=201, retry_on=(404, 422))


async def processed(system: System, event_type: str) -> int:
    conn = await asyncpg.connect(system.env["NOTIFIER_DATABASE_URL"])
    try:
        return await conn.fetchval("select count(*) from processed_events where type = $1",
                                   event_type)
    finally:
        await conn.close()


async def eventually(check: Callable[[], Awaitable[bool]], timeout: float = 30) -> None:
    async with asyncio.timeout(timeout):
        while not await check():
            await asyncio.sleep(0.2)


@pytest.mark.timeout(240)
async def test_sigterm_to_replicas_under_load_fails_no_request_and_loses_no_event(
    make_system: MakeSystem, event_tap: EventTap
) -> None:
    system = await make_system(2)
    plan_id, members = await plan_with_people(system, 2)
    first = await send(system, plan_id, members)  # projections have caught up from here on
    statuses: list[int] = []
    sent_ids = {first["id"]}

    async def sender(n: int) -> None:
        for _ in range(15):
            async with system.http.post("/v1/messages", json={
                    "plan_id": plan_id, "recipient_ids": members, "subject": "Hei", "body": "x"},
                    headers={"Authorization": f"Bearer {system.tokens['ola']}",
                             "Idempotency-Key": str(uuid.uuid4())}) as response:
                statuses.append(response.status)
                sent_ids.add((await response.json()).get("id"))

    load = asyncio.gather(*(sender(n) for n in range(4)))
    await asyncio.sleep(0.3)
    stopping = [p for p in system.processes if p.service in ("messages", "notifier")][::2]
    codes = await asyncio.gather(*(p.stop(signal.SIGTERM) for p in stopping))
    await load
    assert codes == [0, 0]
    assert statuses == [201] * 60
    # No event lost. (One could be relayed twice if a confirm and the stop crossed: at least
    # once is the promise, and consumers ignore a repeated event id, as the count shows.)
    await event_tap.wait_for("message.created", count=len(sent_ids), timeout=30)
    relayed = {e["data"]["message_id"] for e in event_tap.events if e["type"] == "message.created"}
    assert relayed == sent_ids
    await eventually(lambda: _equals(processed(system, "message.created"), len(sent_ids)))


async def _equals(count: Awaitable[int], expected: int) -> bool:
    return await count == expected


@pytest.mark.timeout(240)
async def test_notifier_killed_mid_batch_alerts_everyone_at_most_twice(
    make_system: MakeSystem, sms_gateway: SmsGateway
) -> None:
    system = await make_system(1, ALERT_POLL_SECONDS="0.2", ALERT_CLAIM_SECONDS="3",
                               ALERT_RETRY_MAX_SECONDS="1", SMS_TIMEOUT_SECONDS="3")
    plan_id, members = await plan_with_people(system, 12)
    sms_gateway.delay = 1.0  # a slow gateway, so the kill lands in the middle of the batch
    await send(system, plan_id, members[1:])
    await sms_gateway.wait_for_arrivals(3, timeout=30)  # these people never logged in: alerts
    notifier = next(p for p in system.processes if p.service == "notifier")
    await notifier.stop(signal.SIGKILL)
    assert len(sms_gateway.messages) < 11  # killed in the middle of the batch
    system.processes.append(restarted := ServiceProcess("notifier", system.env))
    await restarted.start()
    numbers = [f"+479200{n:04d}" for n in range(1, 12)]
    sms_gateway.delay = 0
    await sms_gateway.wait_for(11, timeout=60)
    await asyncio.sleep(2)
    alerts = Counter(m.to for m in sms_gateway.messages if "Samhandling" in m.text
                     and m.to in numbers and "kode" not in m.text)
    assert set(alerts) == set(numbers)
    assert max(alerts.values()) <= 2  # a duplicate at most once, for what was in flight
