"""send: POST /v1/messages with 2 recipients, against a raw asyncpg insert of the same rows."""

from __future__ import annotations

from typing import Any

from bench.context import LEVELS, Context
from bench.measure import figures, run_load, throughput_ratio
from bench.system import FLOOR_DATABASE, database_url

TARGET_RATIO, TARGET_P99_MS = 0.70, 50.0
POOL_SIZE = 10  # DB_POOL_MAX's default: the service's connections, and so the floor's


def job(ctx: Context, kind: str, concurrency: int) -> dict[str, Any]:
    return {"kind": kind, "concurrency": concurrency, "warmup": ctx.settings.window(1.0),
            "duration": ctx.settings.window(6.0), "watch": ctx.watch()}


async def level(ctx: Context, concurrency: int) -> dict[str, Any]:
    floor = figures(await run_load({**job(ctx, "send_floor", concurrency),
                                    "database_url": database_url(FLOOR_DATABASE), "pool_size": POOL_SIZE}))
    await ctx.fresh_tokens()
    profiled = ctx.settings.profile and concurrency == LEVELS[-1]
    service = figures(await run_load(
        {**job(ctx, "send", concurrency), "url": ctx.system.url("messages"),
         "users": ctx.member_tokens(), "plan_id": ctx.team_plan},
        profile_pid=ctx.system.pids()["messages"] if profiled else None, profile_name="send-messages"))
    settled = await ctx.settle()
    return {"concurrency": concurrency, "service": service, "floor": floor,
            "ratio": throughput_ratio(service, floor), "settled_after_s": settled}


async def run(ctx: Context) -> dict[str, Any]:
    await ctx.settle()
    levels = [await level(ctx, c) for c in LEVELS]
    top = levels[-1]
    met = (top["ratio"] or 0) >= TARGET_RATIO and (top["service"]["p99_ms"] or 1e9) <= TARGET_P99_MS
    return {
        "name": "send", "title": "POST /v1/messages, 2 recipients",
        "floor": "raw asyncpg: one statement inserting the message, 2 recipients and the outbox row"
                 f" into {FLOOR_DATABASE} (the messages migrations; nothing relays it), pool of {POOL_SIZE}"
                 " without a reset query on release",
        "levels": levels,
        "target": {"text": f"c=64: ≥ {TARGET_RATIO:.0%} of the floor's throughput,"
                           f" p99 ≤ {TARGET_P99_MS:g} ms",
                   "measured": f"{top['ratio']:.0%} of the floor, p99 {top['service']['p99_ms']} ms"
                   if top["ratio"] is not None else "no floor", "met": met},
        "max_rate": top["service"]["throughput"],
    }
