"""Runs every service locally with migrations and demo data; e-mail and SMS land in var/outbox."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import signal
import sys
from pathlib import Path

import aiohttp

from devtools import seed

ROOT = Path(__file__).resolve().parent.parent
SERVICES = [("auth", 8081), ("plans", 8082), ("messages", 8083), ("notifier", 8084)]
VAR = ROOT / "var"


def available_services() -> list[tuple[str, int]]:
    return [(name, port) for name, port in SERVICES
            if (ROOT / "services" / name / "__main__.py").exists()]


def service_env(base: dict[str, str]) -> dict[str, str]:
    env = {**base}
    env.setdefault("DEV_OUTBOX_DIR", str(VAR / "outbox"))
    env.setdefault("PYTHONUNBUFFERED", "1")
    return env


async def run_command(args: list[str], env: dict[str, str]) -> None:
    process = await asyncio.create_subprocess_exec(sys.executable, *args, env=env, cwd=ROOT)
    if await process.wait() != 0:
        raise SystemExit(f"failed: {' '.join(args)}")


async def wait_ready(port: int, timeout: float = 60) -> None:
    async with aiohttp.ClientSession() as session:
        deadline = asyncio.get_running_loop().time() + timeout
        while True:
            with contextlib.suppress(aiohttp.ClientError):
                async with session.get(f"http://127.0.0.1:{port}/readyz") as response:
                    if response.status == 200:
                        return
            if asyncio.get_running_loop().time() > deadline:
                raise SystemExit(f"the service on port {port} did not become ready; see var/log/")
            await asyncio.sleep(0.3)


async def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="bin/dev", description=__doc__)
    parser.add_argument("--no-demo", action="store_true", help="do not create the demo data")
    args = parser.parse_args(argv)
    env = service_env(dict(os.environ))
    (VAR / "log").mkdir(parents=True, exist_ok=True)
    (VAR / "outbox").mkdir(parents=True, exist_ok=True)
    services = available_services()
    # Every service's migrations (and queue declarations) first, so no event is published
    # before the queues of the services that consume it exist.
    for name, _ in services:
        await run_command(["-m", f"services.{name}", "migrate"], env)
    processes = []
    for name, _ in services:
        log_file = open(VAR / "log" / f"{name}.log", "ab")  # noqa: SIM115, ASYNC230
        processes.append(await asyncio.create_subprocess_exec(
            sys.executable, "-m", f"services.{name}", "serve", env=env, cwd=ROOT,
            stdout=log_file, stderr=log_file))
    try:
        for _, port in services:
            await wait_ready(port)
        if not args.no_demo:
            await seed.seed(env)
        print_banner(services)
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop.set)
        exited = [asyncio.create_task(p.wait()) for p in processes]
        await asyncio.wait([asyncio.create_task(stop.wait()), *exited],
                           return_when=asyncio.FIRST_COMPLETED)
    finally:
        for process in processes:
            if process.returncode is None:
                process.terminate()
        for process in processes:
            with contextlib.suppress(ProcessLookupError):
                await asyncio.wait_for(process.wait(), 15)
        print("stopped")


def print_banner(services: list[tuple[str, int]]) -> None:
    lines = ["", "Samhandling is running:"]
    lines += [f"  {name:<9} http://127.0.0.1:{port}  (logs: var/log/{name}.log)"
              for name, port in services]
    lines += [
        "",
        "Demo users (password for all: " + seed.DEMO_PASSWORD + "):",
        *[f"  {u.username:<8} {u.description}" for u in seed.DEMO_USERS],
        "",
        "One-time codes and alerts land as files in var/outbox/;",
        "  newest first: .venv/bin/python -m devtools.outbox",
        "Stop with Ctrl-C.",
    ]
    print("\n".join(lines), flush=True)


if __name__ == "__main__":
    asyncio.run(main())
