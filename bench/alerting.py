"""What the two alert scenarios share: the notifier's setting, recipients in pairs, sampling the
notifier's backlog, and matching what the sinks accepted to what was sent."""

from __future__ import annotations

import asyncio
import time
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

import aio_pika

from bench.api import User
from bench.context import Context, depths, execute, pending_alerts, scalar
from bench.sinks import Record
from bench.system import AMQP_URL, QUEUE_PREFIX

# Production's window is 900 s: a recipient with unread messages is alerted at most every 15 minutes.
# 0 lets a recipient be alerted again as soon as their last alert is out, so that a few thousand users
# can take an alert rate that would otherwise need two new users per message.
WINDOW = {"ALERT_WINDOW_SECONDS": "0"}
MESSAGES_QUEUE = "notifier.messages"


async def use_window_zero(ctx: Context) -> None:
    if ctx.system.settings_changed.get("notifier") != WINDOW:
        await ctx.system.restart("notifier", **WINDOW)


async def clear_alert_backlog(ctx: Context) -> dict[str, int]:
    """With the notifier stopped: the alerts still due from an earlier scenario dropped, and its
    queue of message events purged (SQL and a purge on the bench's own database and queue), so the
    next scenario starts without minutes of someone else's backlog; then it starts again."""
    await ctx.system.stop("notifier")
    dropped = {"alerts_dropped": await pending_alerts()}
    connection = await aio_pika.connect(AMQP_URL)
    try:
        channel = await connection.channel()
        queue = await channel.declare_queue(QUEUE_PREFIX + MESSAGES_QUEUE, passive=True)
        dropped["events_purged"] = (await queue.purge()).message_count
    finally:
        await connection.close()
    await execute("notifier", "update alert_schedules set alert_id = null, due_at = null, deadline = null,"
                  " claimed_at = null, claimed_until = null where alert_id is not null")
    await ctx.system.start("notifier", **WINDOW)
    return dropped


async def drain_alerts(timeout: float) -> float:
    """Wait (bounded) until the notifier has no alert due or being sent; seconds waited."""
    started = time.monotonic()
    for _ in range(int(timeout * 2)):
        if await pending_alerts() == 0:
            break
        await asyncio.sleep(0.5)
    return round(time.monotonic() - started, 1)


def recipient_pairs(ctx: Context) -> list[tuple[str, User, User]]:
    """(plan, recipient, recipient): two of a plan's recipients at a time, plan after plan, so that a
    recipient comes round again only after every other one."""
    by_plan: dict[str, list[User]] = defaultdict(list)
    for user in ctx.recipients:
        by_plan[ctx.recipient_plans[user.username]].append(user)
    rounds = min(len(users) for users in by_plan.values()) // 2
    return [(plan, users[2 * k], users[2 * k + 1]) for k in range(rounds) for plan, users in by_plan.items()]


def schedule(ctx: Context, pairs: list[tuple[str, User, User]], count: int) -> list[list[Any]]:
    """Message i: [its sender (the plan's coordinator, an index into the members), plan, 2 recipients]."""
    return [[ctx.coordinators[plan], plan, a.id, b.id]
            for plan, a, b in (pairs[i % len(pairs)] for i in range(count))]


@dataclass
class Sampler:
    """The notifier's queue of message events and its alerts due, once a second."""

    samples: list[dict[str, float]] = field(default_factory=list)
    _task: asyncio.Task[None] | None = None

    def start(self) -> None:
        self._task = asyncio.create_task(self._run())

    async def _run(self) -> None:
        started = time.monotonic()
        while True:
            queued = (await depths([MESSAGES_QUEUE]))[MESSAGES_QUEUE]
            self.samples.append({"t": round(time.monotonic() - started, 1), "queue": queued,
                                 "alerts_due": await pending_alerts(),
                                 "outbox": await scalar("messages", "select count(*) from outbox")})
            await asyncio.sleep(1.0)

    async def stop(self) -> list[dict[str, float]]:
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)
        return self.samples


def slope(points: Iterable[tuple[float, float]]) -> float:
    """Least-squares slope of y over x (per second); 0 with fewer than two points."""
    pairs = list(points)
    if len(pairs) < 2:
        return 0.0
    xs, ys = [x for x, _ in pairs], [y for _, y in pairs]
    n = len(xs)
    mx, my = sum(xs) / n, sum(ys) / n
    spread = sum((x - mx) ** 2 for x in xs)
    return sum((x - mx) * (y - my) for x, y in zip(xs, ys, strict=True)) / spread if spread else 0.0


def match(sent: list[tuple[str, float, float]], accepted: list[Record], kind: str
          ) -> tuple[list[float], int]:
    """Each sending (destination, started, answered) with the first acceptance of `kind` at that
    destination not matched yet and not before it started: the latencies from the answer to the
    acceptance (ms), and how many sendings had none."""
    arrivals: dict[str, list[float]] = defaultdict(list)
    for _, what, to, at in accepted:
        if what == kind:
            arrivals[to].append(at)
    used = defaultdict(int)
    latencies, unmatched = [], 0
    for to, started, answered in sorted(sent, key=lambda s: s[1]):
        times = arrivals.get(to, [])
        i = used[to]
        while i < len(times) and times[i] < started:
            i += 1
        if i < len(times):
            latencies.append(round((times[i] - answered) * 1000, 3))
            used[to] = i + 1
        else:
            unmatched += 1
    return latencies, unmatched


async def collect(ctx: Context, expected: int, destinations: set[str], kind: str, timeout: float
                  ) -> list[Record]:
    """The sinks' acceptances of `kind` at `destinations`, waiting (bounded) for `expected` of them."""
    started = time.monotonic()
    records: list[Record] = []
    while True:
        records += [r for r in await ctx.sinks.new_records() if r[1] == kind and r[2] in destinations]
        if len(records) >= expected or time.monotonic() - started > timeout:
            return records
        await asyncio.sleep(0.5)
