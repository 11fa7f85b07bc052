"""Runs every service locally with migrations and demo data; e-mail and SMS land in var/outbox."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import signal

from aiohttp import web

from devtools import seed
from devtools.gateway import create_gateway
from devtools.processes import ROOT, ServiceProcess, run_module

SERVICES = {"auth": 8081, "plans": 8082, "messages": 8083, "notifier": 8084}
GATEWAY_PORT = 8080
REPLICA_PORT_STEP = 100  # replica n of auth listens on 8081 + 100 * n
VAR = ROOT / "var"


def available_services() -> dict[str, int]:
    return {name: port for name, port in SERVICES.items()
            if (ROOT / "services" / name / "__main__.py").exists()}


def local_env() -> dict[str, str]:
    env = dict(os.environ)
    env.setdefault("DEV_OUTBOX_DIR", str(VAR / "outbox"))
    env.setdefault("PYTHONUNBUFFERED", "1")
    env.setdefault("PUBLIC_URL", f"http://127.0.0.1:{GATEWAY_PORT}")
    env.setdefault("TRUSTED_PROXY_HOPS", "1")  # auth sits behind the local gateway
    return env


async def start_replicas(services: dict[str, int], replicas: int, env: dict[str, str]
                         ) -> list[ServiceProcess]:
    processes = []
    for name, port in services.items():
        for n in range(replicas):
            suffix = f"-{n + 1}" if replicas > 1 else ""
            log = (VAR / "log" / f"{name}{suffix}.log").open("ab")
            process = ServiceProcess(name, env, port + REPLICA_PORT_STEP * n, log=log)
            await process.start(wait_ready=False)
            processes.append(process)
    for process in processes:
        if await process.wait_ready(60) != 200:
            raise SystemExit(f"{process.service} on port {process.port} did not become ready;"
                             f" see var/log/")
    return processes


async def serve_gateway(processes: list[ServiceProcess]) -> web.AppRunner:
    upstreams: dict[str, list[str]] = {}
    for process in processes:
        upstreams.setdefault(process.service, []).append(process.url)
    runner = web.AppRunner(create_gateway(upstreams), access_log=None)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", GATEWAY_PORT).start()
    return runner


async def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="bin/dev", description=__doc__)
    parser.add_argument("--no-demo", action="store_true", help="do not create the demo data")
    parser.add_argument("--replicas", type=int, default=1, help="processes per service (default 1)")
    args = parser.parse_args(argv)
    env = local_env()
    (VAR / "log").mkdir(parents=True, exist_ok=True)
    (VAR / "outbox").mkdir(parents=True, exist_ok=True)
    services = available_services()
    # Every service's migrations (and queue declarations) first, so no event is published
    # before the queues of the services that consume it exist.
    for name in services:
        await run_module([f"services.{name}", "migrate"], env)
    # Users made in an earlier run, before some service existed, reach its projection too.
    await run_module(["services.auth", "republish-users"], {**env, "LOG_LEVEL": "WARNING"})
    processes = await start_replicas(services, max(1, args.replicas), env)
    gateway = await serve_gateway(processes)
    try:
        if not args.no_demo:
            await seed.seed(env, f"http://127.0.0.1:{GATEWAY_PORT}")
        print_banner(processes)
        await wait_for_stop(processes)
    finally:
        await gateway.cleanup()
        for process in processes:
            with contextlib.suppress(Exception):
                await process.stop(timeout=20)
        print("stopped")


async def wait_for_stop(processes: list[ServiceProcess]) -> None:
    """Until Ctrl-C or SIGTERM, or until a service dies."""
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    exited = [asyncio.create_task(p.process.wait()) for p in processes if p.process]
    await asyncio.wait([asyncio.create_task(stop.wait()), *exited],
                       return_when=asyncio.FIRST_COMPLETED)


def print_banner(processes: list[ServiceProcess]) -> None:
    lines = ["", "Samhandling is running:",
             f"  gateway   http://127.0.0.1:{GATEWAY_PORT}  (one origin for every /v1 path)"]
    lines += [f"  {p.service:<9} {p.url}" for p in processes]
    lines += [
        "  logs      var/log/<service>.log",
        "",
        f"Demo users (password for all: {seed.DEMO_PASSWORD}):",
        *[f"  {u.username:<8} {u.description}" for u in seed.DEMO_USERS],
        f"  Kari's plan ({seed.demo_plan.DEMO_TITLE}) has goals, activities, comments and events.",
        "",
        "One-time codes and alerts land as files in var/outbox/;",
        "  newest first: .venv/bin/python -m devtools.outbox",
        "Stop with Ctrl-C.",
    ]
    print("\n".join(lines), flush=True)


if __name__ == "__main__":
    asyncio.run(main())
