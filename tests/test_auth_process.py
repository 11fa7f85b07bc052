"""auth as a process: readiness follows its dependencies; SIGTERM finishes what is in flight."""

from __future__ import annotations

import asyncio

import aiohttp
from aiohttp import web

from tests.netproxy import TcpProxy
from tests.processes import ServiceProcess


async def test_readyz_is_503_while_the_broker_is_unreachable(service_env) -> None:
    proxy = TcpProxy("127.0.0.1", 5672)
    await proxy.start()
    env = service_env("auth", AMQP_URL=f"amqp://guest:guest@127.0.0.1:{proxy.port}/")
    auth = ServiceProcess("auth", env)
    await auth.start()
    try:
        async with aiohttp.ClientSession() as session:
            await proxy.cut()
            for _ in range(100):
                async with session.get(f"{auth.url}/readyz") as response:
                    status, body = response.status, await response.json()
                if status == 503:
                    break
                await asyncio.sleep(0.1)
            assert status == 503
            assert body["checks"]["broker"] is False
            async with session.get(f"{auth.url}/healthz") as response:
                assert response.status == 200
            await proxy.restore()
            assert await auth.wait_ready() == 200
        assert await auth.stop() == 0
    finally:
        await auth.kill()
        await proxy.cut()


async def test_sigterm_finishes_requests_in_flight_then_exits(service_env) -> None:
    # Full-cost password hashing, so that requests are still running when the signal arrives.
    env = service_env("auth", ARGON2_TIME_COST="3", ARGON2_MEMORY_KIB="65536",
                      ARGON2_PARALLELISM="4")
    auth = ServiceProcess("auth", env)
    await auth.start()
    try:
        async with aiohttp.ClientSession() as session:
            async def attempt() -> int:
                async with session.post(f"{auth.url}/v1/auth/login",
                                        json={"username": "nobody", "password": "x"}) as response:
                    return response.status

            in_flight = [asyncio.create_task(attempt()) for _ in range(8)]
            await asyncio.sleep(0.05)
            stopped = asyncio.create_task(auth.stop())
            statuses = await asyncio.gather(*in_flight)
            assert statuses == [401] * 8
            assert await stopped == 0
        assert b"Traceback" not in auth.stderr
    finally:
        await auth.kill()


async def test_metrics_count_requests_per_route(service_env) -> None:
    auth = ServiceProcess("auth", service_env("auth"))
    await auth.start()
    try:
        async with aiohttp.ClientSession() as session:
            await session.post(f"{auth.url}/v1/auth/login", data=b"{")
            async with session.get(f"{auth.url}/metrics") as response:
                text = await response.text()
            async with session.get(f"{auth.url}/openapi.json") as response:
                document = await response.json()
        assert 'http_requests_total{method="POST",route="/v1/auth/login",status="400"} 1.0' in text
        assert "http_request_duration_seconds_bucket" in text
        assert "outbox_backlog_events" in text
        assert "/v1/auth/login" in document["paths"]
    finally:
        await auth.stop()


async def test_a_port_taken_before_the_service_binds_it_is_given_up_for_another(service_env) -> None:
    async def impostor(request: web.Request) -> web.Response:
        return web.json_response({"status": "ready"})

    auth = ServiceProcess("auth", service_env("auth"))
    taken = auth.port
    app = web.Application()
    app.router.add_get("/readyz", impostor)
    runner = web.AppRunner(app)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", taken).start()  # someone else got there first
    try:
        await auth.start()
        assert auth.port != taken
        async with aiohttp.ClientSession() as session, session.get(f"{auth.url}/readyz") as response:
            assert (await response.json())["service"] == "auth"
    finally:
        await auth.stop()
        await runner.cleanup()
