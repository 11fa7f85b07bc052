"""Demo data through the public API: Kari's plan with goals, activities, comments, events, an assessment."""

from __future__ import annotations

import asyncio
import time
from datetime import UTC, datetime, timedelta
from typing import Any

import aiohttp

from services.common.events import iso

DEMO_TITLE = "Kari sin plan"
GOALS = [
    ("Bo trygt i egen leilighet", "Kari vil klare hverdagen hjemme med litt hjelp.", [
        ("Handle mat sammen hver fredag", "Per følger Kari til butikken.", 14, "per"),
        ("Søke om trygghetsalarm", "Søknad til kommunen.", 7, "ola"),
    ]),
    ("Komme i arbeid", "Arbeidstrening og samarbeid med NAV.", [
        ("Møte med NAV-veileder", "Avklare arbeidstrening.", 21, "ola"),
        ("Arbeidstrening to dager i uka", "", None, None),
    ]),
]


class SeedError(RuntimeError):
    """The plans service refused a demo call."""


async def seed_demo_plan(base_url: str, admin_token: str, tokens_by_username: dict[str, str],
                         user_ids: dict[str, str], wait_seconds: float = 30.0) -> str | None:
    """Create Kari's demo plan (owner kari, coordinator ola, helper per) unless ola already
    coordinates one by that title; its id, or None when it was there. Waits for plans to have
    learnt about the demo users from auth's events."""
    async with aiohttp.ClientSession(base_url.rstrip("/")) as session:
        api = Api(session, {"admin": admin_token, **tokens_by_username})
        mine = await api.call("ola", "GET", "/v1/plans?limit=200")
        if any(p["title"] == DEMO_TITLE for p in mine["items"]):
            return None
        plan = await api.create_plan(user_ids["kari"], user_ids["ola"], wait_seconds)
        base = f"/v1/plans/{plan}"
        await api.call("ola", "POST", f"{base}/participants",
                       {"user_id": user_ids["per"], "role": "participant"})
        activities = await add_goals(api, base, user_ids)
        await add_comments(api, base, activities)
        await add_calendar_and_assessment(api, base)
        return plan


async def add_goals(api: Api, base: str, user_ids: dict[str, str]) -> list[dict[str, Any]]:
    today = datetime.now(UTC).date()
    goals, activities = [], []
    for title, description, planned in GOALS:
        goal = await api.call("ola", "POST", f"{base}/goals",
                              {"title": title, "description": description})
        goals.append(goal)
        for name, about, due_in, responsible in planned:
            activities.append(await api.call("ola", "POST", f"{base}/goals/{goal['id']}/activities", {
                "title": name, "description": about,
                "due_date": (today + timedelta(days=due_in)).isoformat() if due_in else None,
                "responsible_id": user_ids[responsible] if responsible else None}))
    return [*goals, *activities]


async def add_comments(api: Api, base: str, items: list[dict[str, Any]]) -> None:
    home_goal, work_goal, shopping, alarm = items[0], items[1], items[2], items[3]
    comments = [
        ("kari", f"goals/{home_goal['id']}", "Jeg vil gjerne klare mer selv.", None),
        ("ola", f"goals/{home_goal['id']}", "Vi er godt i gang.", "in_progress"),
        ("per", f"activities/{shopping['id']}", "Første handletur gikk fint.", "in_progress"),
        ("ola", f"activities/{alarm['id']}", "Søknaden er sendt.", "completed"),
        ("kari", f"goals/{work_goal['id']}", "Jeg gleder meg til å begynne.", None),
    ]
    for who, target, text, status in comments:
        await api.call(who, "POST", f"{base}/{target}/comments", {"text": text, "status": status})


async def add_calendar_and_assessment(api: Api, base: str) -> None:
    morning = datetime.now(UTC).replace(hour=8, minute=0, second=0, microsecond=0)
    for title, days, hours, location in [("Ansvarsgruppemøte", 3, 1.5, "Helsehuset, møterom 2"),
                                         ("Møte med NAV", 10, 1, "NAV-kontoret"),
                                         ("Oppfølging hjemme", 17, 1, "Hjemme hos Kari")]:
        starts = morning + timedelta(days=days)
        await api.call("ola", "POST", f"{base}/events", {
            "title": title, "starts_at": iso(starts), "ends_at": iso(starts + timedelta(hours=hours)),
            "location": location})
    await api.call("ola", "POST", f"{base}/assessments", {
        "title": "Kartlegging av hverdagen",
        "text": "Kari klarer personlig stell selv. Hun trenger hjelp til innkjøp og til å holde "
                "oversikt over avtaler, og ønsker å komme i arbeid på sikt."})


class Api:
    """Calls to plans as the demo users."""

    def __init__(self, session: aiohttp.ClientSession, tokens: dict[str, str]) -> None:
        self.session = session
        self.tokens = tokens

    async def call(self, who: str, method: str, path: str, body: Any = None) -> Any:
        status, answer = await self.try_call(who, method, path, body)
        if status >= 300:
            raise SeedError(f"{method} {path} as {who}: {status} {answer}")
        return answer

    async def try_call(self, who: str, method: str, path: str, body: Any = None
                       ) -> tuple[int, Any]:
        headers = {"Authorization": f"Bearer {self.tokens[who]}"}
        async with self.session.request(method, path, json=body, headers=headers) as response:
            return response.status, await response.json() if response.status != 204 else None

    async def create_plan(self, owner_id: str, coordinator_id: str, wait_seconds: float) -> str:
        """The new plan's id; retried while plans does not know the users yet (422)."""
        deadline = time.monotonic() + wait_seconds
        body = {"title": DEMO_TITLE, "owner_id": owner_id, "coordinator_id": coordinator_id}
        while True:
            status, answer = await self.try_call("admin", "POST", "/v1/plans", body)
            if status == 201:
                return answer["id"]
            if status != 422 or time.monotonic() > deadline:
                raise SeedError(f"POST /v1/plans: {status} {answer}")
            await asyncio.sleep(0.5)
