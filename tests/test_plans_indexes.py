"""Every plans list query reads its page straight off an index in the list's order."""

from __future__ import annotations

import re
import uuid
from collections.abc import Callable
from typing import Any

import asyncpg
import pytest

from services.common import db
from services.plans import domain, storage
from services.plans.app import SERVICE_DIR


class Recorder:
    """Stands in for a connection: keeps the SQL and arguments a storage function sends."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, tuple[Any, ...]]] = []

    async def fetch(self, sql: str, *args: Any) -> list[Any]:
        self.calls.append((sql, args))
        return []


ID = uuid.uuid4()
FIRST = (domain.MIN_TIME, domain.MIN_ID)
LAST = (domain.MAX_TIME, domain.MAX_ID)
# (what, storage call, the index that must give the page its order)
QUERIES = [
    ("plans", lambda c: storage.fetch_plans_page(c, ID, LAST, 51), "participants_user_added_idx"),
    ("participants", lambda c: storage.fetch_participants_page(c, ID, ID, "r", FIRST, 51),
     "participants_plan_added_idx"),
    ("goals", lambda c: storage.fetch_goals_page(c, ID, ID, "r", FIRST, 51), "goals_plan_created_idx"),
    ("activities", lambda c: storage.fetch_goals_page(c, ID, ID, "r", FIRST, 51),
     "activities_goal_created_idx"),
    ("goal comments", lambda c: storage.fetch_comments_page(c, "goal", ID, ID, "r", ID, FIRST, 51),
     "comments_goal_created_idx"),
    ("activity comments",
     lambda c: storage.fetch_comments_page(c, "activity", ID, ID, "r", ID, FIRST, 51),
     "comments_activity_created_idx"),
    ("events", lambda c: storage.fetch_events_page(c, ID, ID, "r", domain.MIN_TIME, domain.MAX_TIME,
                                                   FIRST, 51), "calendar_events_plan_starts_idx"),
    ("assessments", lambda c: storage.fetch_assessments_page(c, ID, ID, "r", LAST, 51),
     "assessments_plan_created_idx"),
    ("access log", lambda c: storage.fetch_access_log_page(
        c, ID, ID, "r", ["owner"], (domain.MAX_TIME, domain.MAX_SERIAL), 51), "access_log_plan_at_idx"),
]


@pytest.fixture
async def conn(service_env: Callable[..., dict[str, str]]) -> Any:
    url = service_env("plans")["PLANS_DATABASE_URL"]
    await db.apply_migrations(url, SERVICE_DIR)
    connection = await asyncpg.connect(url)
    yield connection
    await connection.close()


@pytest.mark.parametrize(("what", "call", "index"), QUERIES, ids=[q[0] for q in QUERIES])
async def test_list_query_pages_off_its_index(conn: asyncpg.Connection, what: str,
                                              call: Callable[[Any], Any], index: str) -> None:
    recorder = Recorder()
    await call(recorder)
    [(sql, args)] = recorder.calls
    async with conn.transaction():
        # Empty tables would make a sequential scan look cheapest; the question is which index.
        await conn.execute("set local enable_seqscan = off")
        plan = [row[0] for row in await conn.fetch("explain " + sql, *args)]
    scans = [n for n, line in enumerate(plan) if re.search(rf"(using|on) {index}\b", line)]
    assert scans, "\n".join(plan)
    # Between the page's Limit and the scan there is no Sort: the index gives the order.
    limit = max((n for n, line in enumerate(plan[:scans[0]]) if "Limit" in line), default=None)
    if what != "activities":  # all of a goal's activities, not a page
        assert limit is not None, "\n".join(plan)
        assert not any("Sort" in line for line in plan[limit:scans[0]]), "\n".join(plan)
