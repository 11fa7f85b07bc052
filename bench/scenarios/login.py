"""login: password and one-time code, against argon2 alone with the service's defaults."""

from __future__ import annotations

from typing import Any

from bench.context import LEVELS, Context
from bench.floors import floor_settings
from bench.measure import figures, run_load, throughput_ratio
from bench.system import AMQP_URL, EXCHANGE

TARGET_RATIO = 0.90


def windows(ctx: Context, concurrency: int) -> dict[str, float]:
    """A login takes ~0.2 s of CPU here, so at 64 at once each waits seconds: a longer warm-up."""
    warmup = {1: 1.0, 16: 3.0, 64: 8.0}[concurrency]
    duration = {1: 5.0, 16: 8.0, 64: 12.0}[concurrency]
    return {"warmup": ctx.settings.window(warmup), "duration": ctx.settings.window(duration)}


async def level(ctx: Context, concurrency: int) -> dict[str, Any]:
    base = {"concurrency": concurrency, **windows(ctx, concurrency), "watch": ctx.watch()}
    floor = figures(await run_load({**base, "kind": "login_floor"}))
    profiled = ctx.settings.profile and concurrency == LEVELS[-1]
    service = figures(await run_load(
        {**base, "kind": "login", "url": ctx.system.url("auth"), "users": ctx.member_logins(),
         "amqp_url": AMQP_URL, "exchange": EXCHANGE},
        profile_pid=ctx.system.pids()["auth"] if profiled else None, profile_name="login-auth"))
    settled = await ctx.settle()
    return {"concurrency": concurrency, "service": service, "floor": floor,
            "ratio": throughput_ratio(service, floor), "settled_after_s": settled}


async def run(ctx: Context) -> dict[str, Any]:
    await ctx.settle()
    levels = [await level(ctx, c) for c in LEVELS]
    top = levels[-1]
    argon2 = floor_settings()["argon2"]
    return {
        "name": "login",
        "title": "POST /v1/auth/login, code from the otp.requested event, POST /v1/auth/verify",
        "floor": "argon2 verify alone with the service's defaults (time cost {time_cost}, {memory_kib} KiB,"
                 " parallelism {parallelism}) on asyncio's default thread pool, in the load process"
                 .format(**argon2),
        "levels": levels,
        "target": {"text": f"c=64: ≥ {TARGET_RATIO:.0%} of the floor's logins/s",
                   "measured": f"{top['ratio']:.0%} of the floor" if top["ratio"] is not None else "no floor",
                   "met": (top["ratio"] or 0) >= TARGET_RATIO},
    }
