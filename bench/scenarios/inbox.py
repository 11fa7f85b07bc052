"""inbox: GET /v1/messages?folder=inbox with 10 thousand and with 1 million stored messages."""

from __future__ import annotations

import time
from typing import Any

import asyncpg

from bench.context import LEVELS, Context
from bench.measure import figures, run_load, throughput_ratio
from bench.system import database_url, service_database

TARGET_RPS, TARGET_P99_GROWTH = 3000.0, 1.5
POOL_SIZE = 10  # DB_POOL_MAX's default, for the raw query too
PLANS = 20  # the history's messages are spread over a few plans
OTHERS = 20_000  # users other than the measured members, who receive most of the history
MEMBER_INBOX = 150  # each measured member's inbox (at both sizes): some months of a busy plan

# Messages $1..$2: message n (a random id) is sent by member n (modulo their number) in one of $4
# plans, n minutes before now. Only members are known to the users projection; the others stay
# nameless, as users whose events have not arrived yet would.
BATCH = """
create temporary table batch on commit drop as
select n, gen_random_uuid() as id, ($3::uuid[])[1 + n % cardinality($3::uuid[])] as sender_id,
       ('00000000-0000-4000-8000-' || lpad(to_hex(n % $4), 12, '0'))::uuid as plan_id,
       now() - make_interval(mins => n) as created_at
from generate_series($1::int, $2::int) as n
"""
# Rows go in in the order of their primary keys (random ids), so that those indexes grow at their
# right edge instead of at random places: the difference between seconds and minutes.
MESSAGES = """
insert into messages (id, plan_id, thread_id, sender_id, subject, body, created_at)
select id, plan_id, id, sender_id, 'Oppfølging ' || n, repeat('Referat fra møtet. ', 16), created_at
from batch order by id
"""
# Two recipients each: the first $2 messages go to a member (message n to member n + 1) and
# someone else, every later one to two of $3 others. One in 20 is unread.
RECIPIENTS = """
insert into message_recipients (message_id, recipient_id, position, plan_id, created_at, read_at)
select b.id, r.recipient_id, r.position, b.plan_id, b.created_at,
       case when b.n % 20 <> 0 then b.created_at + interval '1 hour' end
from batch b
cross join lateral (values
    (1::smallint, case when b.n <= $2 then ($1::uuid[])[1 + (b.n + 1) % cardinality($1::uuid[])]
                       else ('00000000-0000-4000-9000-' || lpad(to_hex(b.n % $3), 12, '0'))::uuid end),
    (2::smallint, ('00000000-0000-4000-9000-' || lpad(to_hex((b.n + 7) % $3), 12, '0'))::uuid)
) as r (position, recipient_id)
order by b.id, r.recipient_id
"""


TABLES = ["messages", "message_recipients"]


async def store_history(members: list[str], first: int, last: int) -> float:
    """Messages `first`..`last` written with SQL into the messages database; seconds it took.
    The tables' secondary indexes are dropped and built again afterwards (the same definitions),
    and the foreign keys not checked row by row: the rows are right by construction, and this
    way a million take seconds rather than minutes."""
    started = time.monotonic()
    conn = await asyncpg.connect(database_url(service_database("messages")))
    try:
        async with conn.transaction():
            await conn.execute("set local synchronous_commit = off; set local maintenance_work_mem = '256MB';"
                               " set local session_replication_role = replica")
            indexes = await conn.fetch(
                "select indexname, indexdef from pg_indexes where tablename = any($1::text[])"
                " and indexname not like '%pkey'", TABLES)
            for index in indexes:
                await conn.execute(f'drop index "{index["indexname"]}"')
            await conn.execute(BATCH, first, last, members, PLANS)
            await conn.execute(MESSAGES)
            await conn.execute(RECIPIENTS, members, MEMBER_INBOX * len(members), OTHERS)
            for index in indexes:
                await conn.execute(index["indexdef"])
        await conn.execute("vacuum analyze messages, message_recipients")
    finally:
        await conn.close()
    return round(time.monotonic() - started, 1)


async def clear_messages() -> None:
    """The messages the send scenario left are not part of the stored history measured here."""
    conn = await asyncpg.connect(database_url(service_database("messages")))
    try:
        await conn.execute("truncate message_recipients, messages")
    finally:
        await conn.close()


async def measure(ctx: Context, size: int, concurrency: int) -> dict[str, Any]:
    job = {"concurrency": concurrency, "warmup": ctx.settings.window(1.0),
           "duration": ctx.settings.window(5.0), "watch": ctx.watch(), "users": ctx.member_tokens()}
    floor = {}
    if concurrency == LEVELS[-1]:  # where the target is; the time saved goes to the other scenarios
        floor = figures(await run_load({**job, "kind": "inbox_floor", "pool_size": POOL_SIZE,
                                        "database_url": database_url(service_database("messages"))}))
    await ctx.fresh_tokens()
    profiled = ctx.settings.profile and concurrency == LEVELS[-1] and size == ctx.settings.inbox_sizes[-1]
    service = figures(await run_load(
        {**job, "kind": "inbox", "url": ctx.system.url("messages"), "users": ctx.member_tokens()},
        profile_pid=ctx.system.pids()["messages"] if profiled else None, profile_name="inbox-messages"))
    return {"concurrency": concurrency, "stored": size, "service": service, "floor": floor,
            "ratio": throughput_ratio(service, floor)}


async def run(ctx: Context) -> dict[str, Any]:
    await ctx.settle()
    await clear_messages()
    members = [m.id for m in ctx.members]
    levels, setup = [], {}
    stored = 0
    for size in ctx.settings.inbox_sizes:
        setup[f"insert_{size}_s"] = await store_history(members, stored + 1, size)
        stored = size
        levels += [await measure(ctx, size, c) for c in LEVELS]
    return {"name": "inbox", "title": "GET /v1/messages?folder=inbox (a page of 50)", "levels": levels,
            "floor": "p99 at 1 million against p99 at 10 thousand; and, at c=64, the service's own"
                     " inbox query straight through asyncpg (pool of 10, no reset query on release)"
                     " on the same data",
            "target": verdict(levels, ctx.settings.inbox_sizes), "setup": setup,
            "data": f"{MEMBER_INBOX} messages in each measured member's inbox at both sizes; the rest of"
                    f" the history to {OTHERS} other users, 2 recipients each, over {PLANS} plans,"
                    " 1 in 20 unread"}


def count_label(n: int) -> str:
    return f"{n // 1_000_000} M" if n >= 1_000_000 else f"{n // 1_000} k"


def verdict(levels: list[dict[str, Any]], sizes: tuple[int, int]) -> dict[str, Any]:
    top = {lv["stored"]: lv["service"] for lv in levels if lv["concurrency"] == LEVELS[-1]}
    small, large = top[sizes[0]], top[sizes[-1]]
    growth = (large["p99_ms"] or 0) / small["p99_ms"] if small["p99_ms"] else None
    slowest = min(small["throughput"], large["throughput"])
    met = slowest >= TARGET_RPS and growth is not None and growth <= TARGET_P99_GROWTH
    few, many = count_label(sizes[0]), count_label(sizes[-1])
    measured = (f"{small['throughput']:,.0f} and {large['throughput']:,.0f} requests/s;"
                f" p99 {small['p99_ms']} → {large['p99_ms']} ms")
    if growth is not None:
        measured += f" ({growth:.2f} times)"
    return {"text": f"c=64: ≥ {TARGET_RPS:,.0f} requests/s at both sizes; p99 at {many}"
                    f" ≤ {TARGET_P99_GROWTH} times p99 at {few}",
            "measured": measured, "met": met}
