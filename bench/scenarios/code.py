"""code under load: a one-time code's delivery (login answer → accepted by SMTP / SMS) while
thousands of alerts are queued for the notifier."""

from __future__ import annotations

from typing import Any

from bench import setup
from bench.alerting import (
    MESSAGES_QUEUE,
    WINDOW,
    Sampler,
    clear_alert_backlog,
    collect,
    match,
    recipient_pairs,
    schedule,
)
from bench.context import LEVELS, Context, depths, pending_alerts
from bench.measure import figures, latency_figures, run_load, throughput_ratio
from bench.setup import wait_until

TARGET_P99_MS = 200.0


async def queue_alerts(ctx: Context) -> dict[str, Any]:
    """With the notifier stopped, messages to `queued_alerts` recipients (each once): their events
    wait in the notifier's queue; then the notifier starts."""
    pairs = recipient_pairs(ctx)[:ctx.settings.queued_alerts // 2]
    await ctx.system.stop("notifier")
    result = await run_load({"kind": "schedule", "url": ctx.system.url("messages"),
                             "messages": schedule(ctx, pairs, len(pairs)), "rate": 100_000.0,
                             "tokens": [m.access_token for m in ctx.members], "concurrency": 64})
    sent = figures(result)

    async def all_queued() -> bool:
        return (await depths([MESSAGES_QUEUE]))[MESSAGES_QUEUE] >= sent["count"]

    await wait_until(all_queued, 120, "the message events in the notifier's queue")
    await ctx.sinks.new_records()
    await ctx.system.start("notifier", **WINDOW)
    return {"messages": sent["count"], "alerts_queued": 2 * sent["count"],
            "send_rate": sent["throughput"]}


def windows(ctx: Context, concurrency: int) -> dict[str, float]:
    duration = {1: 8.0, 16: 6.0, 64: 8.0}[concurrency]
    return {"warmup": ctx.settings.window(1.0), "duration": ctx.settings.window(duration)}


async def probe(ctx: Context, concurrency: int, profile_name: str = "") -> dict[str, Any]:
    """Logins at `concurrency`; each code's time from the login's answer to its acceptance, for
    the logins answered in the measured window."""
    profiled = ctx.settings.profile and bool(profile_name)
    result = await run_load(
        {"kind": "code_probe", "concurrency": concurrency, **windows(ctx, concurrency),
         "url": ctx.system.url("auth"), "users": ctx.member_logins(), "watch": ctx.watch()},
        profile_pid=ctx.system.pids()["notifier"] if profiled else None, profile_name=profile_name)
    start, end = result["window_at"]
    logins = [(ctx.members[info].destination, began, done)
              for _, began, done, ok, info in result["records"] if ok and start <= done <= end]
    accepted = await collect(ctx, len(logins), {m.destination for m in ctx.members}, "code", 30.0)
    latencies, unmatched = match(logins, accepted, "code")
    return {**latency_figures(latencies), "throughput": round(len(latencies) / result["window"], 1),
            "errors": sum(result["errors"].values()) + unmatched, "cpu_percent": result["cpu"],
            "window_s": result["window"], "logins_p50_ms": figures(result)["p50_ms"]}


async def level(ctx: Context, concurrency: int, floor: dict[str, Any]) -> dict[str, Any]:
    backlog_before = await pending_alerts()
    queue_before = (await depths([MESSAGES_QUEUE]))[MESSAGES_QUEUE]
    service = await probe(ctx, concurrency, "code-notifier" if concurrency == LEVELS[0] else "")
    return {"concurrency": concurrency, "service": service, "floor": floor,
            "ratio": throughput_ratio(service, floor),
            "alerts_due_before": backlog_before, "queue_before": queue_before,
            "alerts_due_after": await pending_alerts()}


async def run(ctx: Context) -> dict[str, Any]:
    made = await setup.make_recipients(ctx)
    await ctx.fresh_tokens()
    made |= await clear_alert_backlog(ctx)
    idle = {c: await probe(ctx, c) for c in LEVELS}
    await ctx.settle()
    queued = await queue_alerts(ctx)
    sampler = Sampler()
    sampler.start()
    levels = [await level(ctx, c, idle[c]) for c in LEVELS]
    queued["alerts_due_left"] = await pending_alerts()
    samples = await sampler.stop()
    return report(levels, queued, samples, made)


def report(levels: list[dict[str, Any]], queued: dict[str, Any], samples: list[dict[str, float]],
           made: dict[str, Any]) -> dict[str, Any]:
    worst = max((lv["service"]["p99_ms"] or 0) for lv in levels)
    failed = sum(lv["service"]["errors"] for lv in levels)
    return {
        "name": "code", "title": "one-time code delivery (login answer → SMTP / SMS) under an alert backlog",
        "floor": "the same logins with no alert queued (just before); under load:"
                 f" {queued['alerts_queued']} alerts queued for the notifier when it starts"
                 " (their message.created events waiting in its queue)",
        "levels": levels, "queued": queued, "samples": samples, "setup": made,
        "target": {"text": f"p99 ≤ {TARGET_P99_MS:g} ms at every concurrency",
                   "measured": f"worst p99 {worst} ms"
                               + (f", {failed} codes not delivered" if failed else ""),
                   "met": worst <= TARGET_P99_MS and failed == 0},
        "settings": {**WINDOW},
    }
