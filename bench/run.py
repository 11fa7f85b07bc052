"""The benchmark run: the system started with ServiceProcess, each scenario in turn, the results written."""

from __future__ import annotations

import argparse
import asyncio
import fcntl
import os
import platform
import subprocess
import sys
import time
import traceback
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import Any

from bench import report, setup
from bench.api import Api
from bench.context import Context, RunSettings, scalar
from bench.scenarios import alert, code, inbox, login, send
from bench.sinks import new_sinks
from bench.system import LOG_DIR, SERVICES, System
from devtools.processes import ROOT

SCENARIOS: dict[str, Callable[[Context], Awaitable[dict[str, Any]]]] = {
    "send": send.run, "inbox": inbox.run, "login": login.run, "alert": alert.run, "code": code.run,
}
LOCK_FILE = LOG_DIR.parent / "samhandling-bench.lock"
SETTINGS = [
    "Every service is one process with production defaults (one replica, DB_POOL_MAX 10, LOG_LEVEL INFO,"
    " argon2 time cost 3, 64 MiB, parallelism 4), on its own databases (bench_*), exchange"
    " bench.samhandling and queues bench.*; e-mail goes to an aiosmtpd server and SMS to a gateway on"
    " loopback, in a process of their own; the load comes from another process.",
    "While the recipients of the alert scenarios are created (only then), auth runs with argon2 time"
    " cost 1, 64 KiB, parallelism 1: they never log in, and at production cost their passwords alone"
    " would take minutes of CPU. auth is restarted with its defaults afterwards.",
    "send → alert and code under load: the notifier runs with ALERT_WINDOW_SECONDS=0 (production: 900),"
    " so that a recipient is alerted for a new message as soon as their previous alert is out;"
    " otherwise each message would need two users who have nothing unread, tens of thousands of"
    " users created through the API at about 130 per second here.",
]


def parse(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="bin/bench", description=__doc__)
    parser.add_argument("--quick", action="store_true", help="shorter windows and fewer users (~2-3 min)")
    parser.add_argument("--only", default=",".join(SCENARIOS),
                        help=f"comma-separated scenarios (default: all of {', '.join(SCENARIOS)})")
    parser.add_argument("--profile", action="store_true",
                        help="py-spy the service under test at c=64; summaries in bench/results/profiles/")
    parser.add_argument("--set", action="append", default=[], metavar="SERVICE:NAME=VALUE",
                        help="a setting for one service, to try a change (e.g. notifier:DB_POOL_MAX=30)")
    args = parser.parse_args(argv)
    try:
        args.extra = service_settings(args.set)
    except ValueError as exc:
        parser.error(str(exc))
    unknown = set(args.only.split(",")) - set(SCENARIOS)
    if unknown:
        parser.error(f"unknown scenarios: {', '.join(sorted(unknown))}")
    return args


def service_settings(items: list[str]) -> dict[str, dict[str, str]]:
    extra: dict[str, dict[str, str]] = {}
    for item in items:
        service, _, assignment = item.partition(":")
        name, _, value = assignment.partition("=")
        if service not in SERVICES or not name or "=" not in assignment:
            raise ValueError(f"--set {item}: expected SERVICE:NAME=VALUE, SERVICE one of"
                             f" {', '.join(SERVICES)}")
        extra.setdefault(service, {})[name] = value
    return extra


def git_commit() -> str:
    def git(*args: str) -> str:
        return subprocess.run(["git", *args], cwd=ROOT, capture_output=True, text=True,  # noqa: S603, S607
                              check=False).stdout.strip()
    dirty = git("status", "--porcelain", "--untracked-files=no")
    return git("rev-parse", "--short", "HEAD") + ("+changes" if dirty else "")


def machine(postgres: str) -> dict[str, Any]:
    pages = os.sysconf("SC_PHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    return {"cores": os.cpu_count(), "memory_gib": round(pages / 2**30), "python": platform.python_version(),
            "system": f"{platform.system()} {platform.release()}", "postgres": postgres,
            "loadavg_start": round(os.getloadavg()[0], 1)}


def changed_settings(extra: dict[str, dict[str, str]]) -> list[str]:
    return [f"Changed for this run (--set): {service} {name}={value}"
            for service, values in extra.items() for name, value in values.items()]


async def scenario(ctx: Context, name: str) -> dict[str, Any]:
    started = time.monotonic()
    print(f"bench: {name} …", file=sys.stderr, flush=True)
    try:
        result = await SCENARIOS[name](ctx)
    except Exception:
        traceback.print_exc()
        result = {"name": name, "error": traceback.format_exc()}
    result["seconds"] = round(time.monotonic() - started, 1)
    print(f"bench: {name} took {result['seconds']} s", file=sys.stderr, flush=True)
    return result


async def run(args: argparse.Namespace, argv: list[str]) -> dict[str, Any]:
    settings = RunSettings(quick=args.quick, profile=args.profile)
    sinks = new_sinks()
    system = System(sinks, args.extra)
    api = Api(system)
    ctx = Context(system, api, sinks, settings)
    started = time.monotonic()
    record: dict[str, Any] = {"date": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"), "quick": args.quick,
                              "command": " ".join(["bin/bench", *argv]), "commit": git_commit(),
                              "settings": SETTINGS + changed_settings(args.extra), "scenarios": {}}
    try:
        await setup.start(ctx)
        record["machine"] = machine(await scalar("messages", "select split_part(version(), ' on ', 1)"))
        for name in args.only.split(","):
            ctx.results[name] = record["scenarios"][name] = await scenario(ctx, name)
    finally:
        await api.close()
        await system.close()
        await sinks.stop()
    record.setdefault("machine", machine("PostgreSQL"))["loadavg_end"] = round(os.getloadavg()[0], 1)
    record["duration_s"] = round(time.monotonic() - started, 1)
    return record


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    args = parse(argv)
    # One run at a time: every run uses (and drops) the same bench_* databases and queues.
    lock = LOCK_FILE.open("w")
    try:
        fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        print(f"bench: another run is going (it holds {LOCK_FILE}); try again when it is done",
              file=sys.stderr)
        return 2
    record = asyncio.run(run(args, argv))
    complete = args.only.split(",") == list(SCENARIOS) and not args.extra
    # A run of some scenarios only leaves the last complete run's results alone.
    json_path, md_path = report.write(record, "latest" if complete else "partial")
    print(md_path.read_text())
    print(f"bench: wrote {json_path.relative_to(ROOT)} and {md_path.relative_to(ROOT)}", file=sys.stderr)
    return 0
