"""send → alert: from a send's answer to its alerts accepted by the SMTP server and the SMS gateway,
sending at half the maximum send rate; the notifier's queue must not grow."""

from __future__ import annotations

import math
from typing import Any

from bench import setup
from bench.alerting import (
    MESSAGES_QUEUE,
    WINDOW,
    Sampler,
    collect,
    drain_alerts,
    match,
    recipient_pairs,
    schedule,
    slope,
    use_window_zero,
)
from bench.context import Context
from bench.measure import figures, latency_figures, run_load
from bench.scenarios import send

TARGET_P99_MS, MAX_QUEUE_SLOPE, MAX_QUEUE_END = 1000.0, 1.0, 100
SEND_CONCURRENCY = 64


async def max_send_rate(ctx: Context) -> float:
    """The send scenario's throughput at c=64 in this run; measured now if it did not run."""
    if "send" in ctx.results and ctx.results["send"].get("max_rate"):
        return ctx.results["send"]["max_rate"]
    level = await send.level(ctx, SEND_CONCURRENCY)
    return level["service"]["throughput"]


async def prepare(ctx: Context) -> dict[str, Any]:
    made = await setup.make_recipients(ctx)
    await use_window_zero(ctx)
    await ctx.fresh_tokens()
    made["settled_s"] = await ctx.settle(120)
    made["alerts_drained_s"] = await drain_alerts(120)
    return made


async def run(ctx: Context) -> dict[str, Any]:
    made = await prepare(ctx)
    rate = round(await max_send_rate(ctx) / 2, 1)
    pairs = recipient_pairs(ctx)
    messages = schedule(ctx, pairs, max(int(rate * ctx.settings.alert_seconds), 1))
    await ctx.sinks.new_records()  # what came before is not this scenario's
    sampler = Sampler()
    sampler.start()
    result = await run_load({"kind": "schedule", "url": ctx.system.url("messages"), "messages": messages,
                             "tokens": [m.access_token for m in ctx.members], "rate": rate,
                             "concurrency": SEND_CONCURRENCY, "watch": ctx.watch()},
                            profile_pid=ctx.system.pids()["notifier"] if ctx.settings.profile else None,
                            profile_name="alert-notifier")
    sending_ended = len(sampler.samples)
    sent = sendings(pairs, result["records"])
    accepted = await collect(ctx, len(sent), {to for to, _, _ in sent}, "alert",
                             timeout=ctx.settings.window(30.0))
    samples = await sampler.stop()
    latencies, unmatched = match(sent, accepted, "alert")
    return report(ctx, rate, result, sent, latencies, unmatched, samples, sending_ended, made)


def sendings(pairs: list[tuple[str, Any, Any]], records: list[list[Any]]) -> list[tuple[str, float, float]]:
    """(destination, started, answered) for each recipient of each message answered 201."""
    out = []
    for i, began, done, ok in records:
        if ok:
            _, a, b = pairs[i % len(pairs)]
            out += [(a.destination, began, done), (b.destination, began, done)]
    return out


def queue_growth(samples: list[dict[str, float]], sending_ended: int) -> dict[str, Any]:
    during = samples[:max(sending_ended, 1)]
    return {"slope_per_s": round(slope((s["t"], s["queue"]) for s in during), 2),
            "at_end_of_sending": during[-1]["queue"] if during else None,
            "max": max((s["queue"] for s in during), default=None),
            "alerts_due_max": max((s["alerts_due"] for s in samples), default=None)}


def with_missing(latencies: list[float], missing: int) -> dict[str, Any]:
    """Percentiles counting alerts that never came as endlessly late (None where they decide it)."""
    padded = latencies + [math.inf] * missing
    figures_ = latency_figures(padded)
    return {k: (None if isinstance(v, float) and math.isinf(v) else v) for k, v in figures_.items()}


def report(ctx: Context, rate: float, result: dict[str, Any], sent: list[Any], latencies: list[float],
           unmatched: int, samples: list[dict[str, float]], sending_ended: int,
           made: dict[str, Any]) -> dict[str, Any]:
    sending = figures(result)
    alerts = with_missing(latencies, unmatched)
    growth = queue_growth(samples, sending_ended)
    p99 = alerts["p99_ms"]
    grows = growth["slope_per_s"] > MAX_QUEUE_SLOPE or (growth["at_end_of_sending"] or 0) > MAX_QUEUE_END
    met = p99 is not None and p99 <= TARGET_P99_MS and not grows
    level = {"concurrency": SEND_CONCURRENCY, "rate_wanted": rate,
             "service": {**alerts, "throughput": round(len(latencies) / max(result["window"], 1e-6), 1),
                         "errors": sending["errors"], "cpu_percent": sending["cpu_percent"],
                         "window_s": sending["window_s"]},
             "sends": {k: sending[k] for k in ("throughput", "p50_ms", "p95_ms", "p99_ms", "count",
                                               "errors")}}
    return {
        "name": "alert", "title": "send → alert accepted by SMTP (aiosmtpd) / SMS gateway",
        "floor": f"the send rate: half of the send scenario's c=64 throughput ({rate} messages/s wanted)",
        "levels": [level],
        "alerts": {"sent_messages": sending["count"], "alerts_expected": len(sent),
                   "alerts_measured": len(latencies), "not_alerted_within_wait": unmatched},
        "queue": growth, "samples": samples,
        "target": {"text": f"p99 ≤ {TARGET_P99_MS:g} ms and {MESSAGES_QUEUE} does not grow",
                   "measured": f"p99 {p99 if p99 is not None else '> wait'} ms; queue slope"
                               f" {growth['slope_per_s']}/s, {growth['at_end_of_sending']} at the end",
                   "met": met},
        "setup": made,
        "settings": {**WINDOW, "recipients": len(ctx.recipients), "seconds": ctx.settings.alert_seconds},
    }
