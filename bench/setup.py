"""The bench's users and plans, made through the API: an administrator, members who send and read,
a team plan, and (for the alert scenarios) thousands of recipients in plans of their own."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from typing import Any

from bench.api import ApiError, User, bounded
from bench.context import Context, scalar

RECIPIENT_PLANS = 50
# Only while the recipients are made (they never log in): auth then runs with production defaults again.
CHEAP_ARGON2 = {"ARGON2_TIME_COST": "1", "ARGON2_MEMORY_KIB": "64", "ARGON2_PARALLELISM": "1"}


async def wait_until(check: Callable[[], Awaitable[bool]], timeout: float, what: str) -> float:
    """Poll `check` until it holds; seconds waited. Raises after `timeout`."""
    started = time.monotonic()
    while not await check():
        if time.monotonic() - started > timeout:
            raise TimeoutError(f"waited {timeout} s for {what}")
        await asyncio.sleep(0.25)
    return time.monotonic() - started


async def known_everywhere(count: int) -> bool:
    """Every user's user.created handled by plans, messages and notifier."""
    return (await scalar("plans", "select count(*) from users") >= count
            and await scalar("messages", "select count(*) from users") >= count
            and await scalar("notifier", "select count(*) from contacts") >= count)


async def members_in(plan_ids: list[str], count: int) -> bool:
    """The plans' participants as the messages service knows them (from plan events)."""
    known = await scalar("messages", "select count(*) from plan_members where plan_id = any($1::uuid[])"
                         " and active", plan_ids)
    return known >= count


async def start(ctx: Context) -> None:
    """The services, the administrator (auth's command line) and the members, logged in."""
    await ctx.sinks.start()
    await ctx.system.prepare()
    await ctx.system.start_all()
    await ctx.api.start()
    await ctx.api.create_admin(ctx.admin)
    await ctx.api.login(ctx.admin)
    count = ctx.settings.members
    ctx.members = [User(f"member{n:02d}", "sms" if n % 2 else "email", 1 + n) for n in range(count)]
    await bounded(ctx.members, lambda m: ctx.api.create_user(ctx.admin, m), 8)
    await bounded(ctx.members, ctx.api.login, 8)
    ctx.tokens_at = time.monotonic()
    await wait_until(lambda: known_everywhere(count + 1), 60, "the members in every service")
    await make_team_plan(ctx)


async def make_team_plan(ctx: Context) -> None:
    """One plan with every member: the send, inbox and login scenarios' users."""
    owner, coordinator, *others = ctx.members
    ctx.team_plan = await ctx.api.create_plan(ctx.admin, "Teamet rundt Kari", owner, coordinator)
    await bounded(others, lambda m: ctx.api.add_participant(coordinator, ctx.team_plan, m), 8)
    await wait_until(lambda: members_in([ctx.team_plan], len(ctx.members)), 60, "the team plan in messages")


async def make_recipients(ctx: Context) -> dict[str, Any]:
    """Recipients through the API (auth's POST /v1/users, plans' participants), spread over plans
    whose coordinators (members) send to them; what it took."""
    if ctx.recipients:
        return {}
    started = time.monotonic()
    await ctx.fresh_tokens()
    await ctx.system.restart("auth", **CHEAP_ARGON2)
    count = ctx.settings.recipients
    ctx.recipients = [User(f"recipient{n:05d}", "sms" if n % 2 else "email", 100_000 + n)
                      for n in range(count)]
    plans = await make_recipient_plans(ctx)
    for n, user in enumerate(ctx.recipients):
        ctx.recipient_plans[user.username] = plans[n % len(plans)]
    adding: asyncio.Queue[User | None] = asyncio.Queue()
    creator = asyncio.create_task(create_recipients(ctx, adding))
    await add_recipients(ctx, adding)
    await creator
    await ctx.system.restart("auth")
    ctx.system.settings_changed.pop("auth", None)
    total = len(ctx.members) + 1 + count
    await wait_until(lambda: known_everywhere(total), 300, "the recipients in every service")
    await wait_until(lambda: members_in(plans, count + 2 * len(plans)), 300,
                     "the recipients' plans in messages")
    return {"recipients": count, "plans": len(plans), "seconds": round(time.monotonic() - started, 1)}


async def make_recipient_plans(ctx: Context) -> list[str]:
    plans = []
    for n in range(RECIPIENT_PLANS):
        members = len(ctx.members)
        coordinator, owner = ctx.members[n % members], ctx.members[(n + 1) % members]
        plan_id = await ctx.api.create_plan(ctx.admin, f"Plan {n}", owner, coordinator)
        ctx.coordinators[plan_id] = n % members
        plans.append(plan_id)
    return plans


async def create_recipients(ctx: Context, created: asyncio.Queue[User | None], workers: int = 32) -> None:
    async def create(user: User) -> None:
        await ctx.api.create_user(ctx.admin, user)
        await created.put(user)

    try:
        await bounded(ctx.recipients, create, workers)
    finally:
        for _ in range(workers):
            await created.put(None)


async def add_recipients(ctx: Context, created: asyncio.Queue[User | None], workers: int = 32) -> None:
    """Each new user into their plan, by its coordinator, once plans has heard of the user."""
    async def worker() -> None:
        while (user := await created.get()) is not None:
            plan_id = ctx.recipient_plans[user.username]
            coordinator = ctx.members[ctx.coordinators[plan_id]]
            await add_when_known(ctx, coordinator, plan_id, user)

    await asyncio.gather(*(worker() for _ in range(workers)))


async def add_when_known(ctx: Context, coordinator: User, plan_id: str, user: User, tries: int = 300) -> None:
    """Add the participant, trying again while plans has not handled the user's user.created (422).
    A 409 is tried again too: plans answers 409 ("already takes part") when user.created lands
    between its insert and its check of the user (see the report); a second 409 is the truth."""
    conflicts = 0
    for attempt in range(tries):
        try:
            await ctx.api.add_participant(coordinator, plan_id, user)
            return
        except ApiError as exc:
            conflicts += exc.status == 409
            if conflicts >= 2:
                return
            if exc.status not in (409, 422) or attempt == tries - 1:
                raise
            await asyncio.sleep(0.1)
