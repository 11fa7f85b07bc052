"""The load generator, run as a separate process: a job (JSON) on stdin, what it measured (JSON) on stdout."""

from __future__ import annotations

import asyncio
import json
import sys
import time
from collections import Counter
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

import aiohttp

from bench.cpu import CpuWatch
from bench.floors import Argon2Floor, InboxFloor, SendFloor
from bench.otp import OtpListener

Op = Callable[[int], Awaitable[Any]]
SUBJECT = "Møte om vedtaket neste uke"
BODY = ("Hei! Kan vi flytte møtet om vedtaket til tirsdag klokka 10? Jeg har snakket med fastlegen, "
        "og hun kan komme da. Vi går gjennom målene for neste periode, og jeg tar med referatet fra "
        "forrige gang. Si ifra om tidspunktet ikke passer, så finner vi et annet. Hilsen koordinatoren")


class Failed(Exception):
    """A request that did not get the answer it should have."""


@dataclass
class Measured:
    latencies: list[float] = field(default_factory=list)  # seconds, of ops completed in the window
    errors: Counter[str] = field(default_factory=Counter)
    records: list[list[Any]] = field(default_factory=list)
    window: float = 0.0
    window_at: tuple[float, float] = (0.0, 0.0)  # the measured window, in time.monotonic()
    cpu: dict[str, float] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        return {"latencies_ms": [round(x * 1000, 3) for x in self.latencies], "window": self.window,
                "window_at": list(self.window_at), "errors": dict(self.errors), "records": self.records,
                "cpu": self.cpu}


class Http:
    """One keep-alive client session, as many connections as workers."""

    def __init__(self, concurrency: int) -> None:
        self.session = aiohttp.ClientSession(
            connector=aiohttp.TCPConnector(limit=concurrency + 4, limit_per_host=concurrency + 4),
            timeout=aiohttp.ClientTimeout(total=60))

    async def call(self, method: str, url: str, expect: int, headers: dict[str, str] | None = None,
                   body: Any = None) -> Any:
        data = None if body is None else json.dumps(body).encode()
        headers = {**(headers or {}), **({"Content-Type": "application/json"} if data else {})}
        async with self.session.request(method, url, data=data, headers=headers) as response:
            raw = await response.read()
            if response.status != expect:
                raise Failed(f"{method} {response.status}")
        return raw

    async def close(self) -> None:
        await self.session.close()


async def closed_loop(op: Op, job: dict[str, Any], record: bool = False) -> Measured:
    """`concurrency` workers each running `op` back to back: a warm-up, then the measured window
    (ops completed in it count), bounded by time and by `max_ops`. Ops in flight at the end are
    waited for (so the next level starts on a quiet system) but not counted."""
    concurrency, warmup, duration = job["concurrency"], job["warmup"], job["duration"]
    max_ops = job.get("max_ops", 1_000_000)
    measured, watch = Measured(), CpuWatch(job.get("watch", {}))
    loop = asyncio.get_running_loop()
    begin = loop.time()
    start, end = begin + warmup, begin + warmup + duration
    issued = 0

    async def worker(w: int) -> None:
        nonlocal issued
        while loop.time() < end and issued < max_ops:
            issued += 1
            began = time.monotonic()
            try:
                info = await op(w)
                ok = True
            except (Failed, aiohttp.ClientError, TimeoutError) as exc:
                info, ok = None, False
                if loop.time() >= start:
                    measured.errors[str(exc) or type(exc).__name__] += 1
            done = time.monotonic()
            if ok and start <= loop.time() <= end:
                measured.latencies.append(done - began)
            if record:
                measured.records.append([w, began, done, ok, info])

    async def watch_window() -> None:
        await asyncio.sleep(max(start - loop.time(), 0))
        watch.start()
        await asyncio.sleep(max(end - loop.time(), 0))
        measured.cpu = watch.stop()

    watcher = asyncio.create_task(watch_window())
    await asyncio.gather(*(worker(w) for w in range(concurrency)))
    await watcher
    measured.window, measured.window_at = duration, (start, end)
    return measured


async def open_loop(op: Op, count: int, rate: float, concurrency: int, watch: dict[str, int]) -> Measured:
    """Op i is due at i / rate seconds; at most `concurrency` in flight (a late op waits for room,
    and the rate achieved says so). Each op's start and end are recorded."""
    measured, cpu = Measured(), CpuWatch(watch)
    room = asyncio.Semaphore(concurrency)
    loop = asyncio.get_running_loop()
    begin = loop.time()
    cpu.start()

    async def one(i: int) -> None:
        began = time.monotonic()
        try:
            await op(i)
            ok = True
        except (Failed, aiohttp.ClientError, TimeoutError) as exc:
            ok = False
            measured.errors[str(exc) or type(exc).__name__] += 1
        finally:
            room.release()
        done = time.monotonic()
        if ok:
            measured.latencies.append(done - began)
        measured.records.append([i, began, done, ok])

    tasks = []
    for i in range(count):
        await asyncio.sleep(max(begin + i / rate - loop.time(), 0))
        await room.acquire()
        tasks.append(asyncio.create_task(one(i)))
    await asyncio.gather(*tasks)
    measured.window = loop.time() - begin
    measured.cpu = cpu.stop()
    return measured


# --- the jobs ------------------------------------------------------------------------------------

def message_body(plan_id: str, recipients: list[str]) -> dict[str, Any]:
    return {"plan_id": plan_id, "recipient_ids": recipients, "subject": SUBJECT, "body": BODY}


async def run_send(job: dict[str, Any]) -> Measured:
    """POST /v1/messages: worker w sends as users[w] to the two users after it."""
    users, url, plan_id = job["users"], job["url"] + "/v1/messages", job["plan_id"]
    n = len(users)
    bodies = [message_body(plan_id, [users[(w + 1) % n]["id"], users[(w + 2) % n]["id"]])
              for w in range(n)]
    http = Http(job["concurrency"])

    async def op(w: int) -> None:
        await http.call("POST", url, 201, {"Authorization": f"Bearer {users[w % n]['token']}"},
                        bodies[w % n])

    try:
        return await closed_loop(op, job)
    finally:
        await http.close()


async def run_inbox(job: dict[str, Any]) -> Measured:
    users, url = job["users"], job["url"] + "/v1/messages?folder=inbox"
    http = Http(job["concurrency"])
    turn = [0]

    async def op(w: int) -> None:
        turn[0] += 1
        user = users[turn[0] % len(users)]
        await http.call("GET", url, 200, {"Authorization": f"Bearer {user['token']}"})

    try:
        return await closed_loop(op, job)
    finally:
        await http.close()


async def login_once(http: Http, otp: OtpListener | None, url: str, user: dict[str, str]) -> str:
    """The password; with a listener, the code from the otp.requested event and the verify too."""
    raw = await http.call("POST", f"{url}/v1/auth/login", 200,
                          body={"username": user["username"], "password": user["password"]})
    challenge_id = json.loads(raw)["challenge_id"]
    if otp is not None:
        code = await otp.code(challenge_id)
        await http.call("POST", f"{url}/v1/auth/verify", 200,
                        body={"challenge_id": challenge_id, "code": code})
    return challenge_id


async def run_login(job: dict[str, Any]) -> Measured:
    """Password and code: worker w logs in as users[w], the code read from the event."""
    users, url = job["users"], job["url"]
    otp = OtpListener(job["amqp_url"], job["exchange"])
    await otp.start()
    http = Http(job["concurrency"])

    async def op(w: int) -> None:
        await login_once(http, otp, url, users[w % len(users)])

    try:
        return await closed_loop(op, job)
    finally:
        await http.close()
        await otp.close()


async def run_code_probe(job: dict[str, Any]) -> Measured:
    """Logins (password only) whose codes the sinks time: each op's user and times are recorded."""
    users, url = job["users"], job["url"]
    http = Http(job["concurrency"])
    turn = [0]

    async def op(w: int) -> int:
        index = turn[0] % len(users)
        turn[0] += 1
        await login_once(http, None, url, users[index])
        return index

    try:
        return await closed_loop(op, job, record=True)
    finally:
        await http.close()


async def run_schedule(job: dict[str, Any]) -> Measured:
    """Open-loop sends: message i is [sender index, plan id, recipient id, recipient id]."""
    tokens, url, messages = job["tokens"], job["url"] + "/v1/messages", job["messages"]
    http = Http(job["concurrency"])

    async def op(i: int) -> None:
        sender, plan_id, *recipients = messages[i]
        await http.call("POST", url, 201, {"Authorization": f"Bearer {tokens[sender]}"},
                        message_body(plan_id, recipients))

    try:
        return await open_loop(op, len(messages), job["rate"], job["concurrency"], job.get("watch", {}))
    finally:
        await http.close()


async def run_send_floor(job: dict[str, Any]) -> Measured:
    async with SendFloor(job["database_url"], job["pool_size"], SUBJECT, BODY) as floor:
        return await closed_loop(floor.send, job)


async def run_inbox_floor(job: dict[str, Any]) -> Measured:
    users = [u["id"] for u in job["users"]]
    async with InboxFloor(job["database_url"], job["pool_size"], users) as floor:
        return await closed_loop(floor.page, job)


async def run_login_floor(job: dict[str, Any]) -> Measured:
    return await closed_loop(Argon2Floor().verify, job)


JOBS: dict[str, Callable[[dict[str, Any]], Awaitable[Measured]]] = {
    "send": run_send, "inbox": run_inbox, "login": run_login, "code_probe": run_code_probe,
    "schedule": run_schedule, "send_floor": run_send_floor, "inbox_floor": run_inbox_floor,
    "login_floor": run_login_floor,
}


def main() -> None:
    job = json.loads(sys.stdin.read())
    measured = asyncio.run(JOBS[job["kind"]](job))
    json.dump(measured.to_json(), sys.stdout)


if __name__ == "__main__":
    main()
