"""Where alerts and codes go: an aiosmtpd SMTP server and the contract's SMS gateway, in a process of
their own (so their work does not share a core's time with the load); each acceptance is recorded."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import signal
import sys
import time
from dataclasses import dataclass
from typing import Any

import aiohttp
from aiohttp import web
from aiosmtpd.smtp import SMTP

from devtools.processes import ROOT, free_port

SMS_PATH = "/v1/sms"
# channel ("email" | "sms"), kind ("code" | "alert"), destination, time.monotonic() when accepted
Record = tuple[str, str, str, float]


def kind_of(text: str) -> str:
    """A one-time code's text names the code ("engangskode", "one-time code"); an alert's does not."""
    lowered = text.lower()
    return "code" if "kode" in lowered or "code" in lowered else "alert"


def email_subject(content: bytes) -> str:
    for line in content.splitlines():
        if not line.strip():
            break  # the end of the headers
        if line.lower().startswith(b"subject:"):
            return line[8:].decode("utf-8", "replace")
    return ""


class Recorder:
    """The accepted messages, in order of acceptance."""

    def __init__(self) -> None:
        self.records: list[Record] = []

    def add(self, channel: str, text: str, to: str) -> None:
        self.records.append((channel, kind_of(text), to, time.monotonic()))


class SmtpHandler:
    """aiosmtpd's handler: accepts every message; what was in it is not the benchmark's business."""

    def __init__(self, recorder: Recorder) -> None:
        self.recorder = recorder

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # aiosmtpd calls it
        subject = email_subject(envelope.content)
        for to in envelope.rcpt_tos:
            self.recorder.add("email", subject, to)
        return "250 2.0.0 OK: queued"


def sink_app(recorder: Recorder, token: str) -> web.Application:
    async def sms(request: web.Request) -> web.Response:
        if request.headers.get("Authorization") != f"Bearer {token}":
            return web.json_response({"error": "unauthorized"}, status=401)
        body = await request.json()
        recorder.add("sms", body["text"], body["to"])
        return web.json_response({"status": "accepted"})

    async def records(request: web.Request) -> web.Response:
        after = int(request.query.get("after", "0"))
        return web.json_response({"records": recorder.records[after:], "next": len(recorder.records)})

    async def health(request: web.Request) -> web.Response:
        return web.json_response({"status": "ok"})

    app = web.Application()
    app.router.add_post(SMS_PATH, sms)
    app.router.add_get("/records", records)
    app.router.add_get("/health", health)
    return app


async def serve(smtp_port: int, http_port: int, token: str) -> None:
    logging.getLogger("mail.log").setLevel(logging.WARNING)
    recorder = Recorder()
    loop = asyncio.get_running_loop()
    # An explicit hostname: aiosmtpd would otherwise look this host's name up for every session.
    smtp = await loop.create_server(lambda: SMTP(SmtpHandler(recorder), hostname="bench-sink"),
                                    "127.0.0.1", smtp_port)
    runner = web.AppRunner(sink_app(recorder, token), access_log=None)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", http_port).start()
    stop = asyncio.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    await stop.wait()
    smtp.close()
    await runner.cleanup()


@dataclass
class Sinks:
    """The sinks' process, seen from the orchestrator: where they listen, what they accepted."""

    smtp_port: int
    http_port: int
    token: str = "bench-sms-token"  # noqa: S105 (a loopback test gateway's)
    process: asyncio.subprocess.Process | None = None
    _seen: int = 0

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.http_port}"

    def env(self) -> dict[str, str]:
        """The notifier's settings for these sinks."""
        return {"SMTP_HOST": "127.0.0.1", "SMTP_PORT": str(self.smtp_port), "SMTP_SECURITY": "none",
                "SMS_GATEWAY_URL": f"{self.url}{SMS_PATH}", "SMS_GATEWAY_TOKEN": self.token}

    async def start(self, timeout: float = 20.0) -> None:
        self.process = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "bench.sinks", "--smtp-port", str(self.smtp_port),
            "--http-port", str(self.http_port), "--token", self.token, cwd=ROOT)
        deadline = time.monotonic() + timeout
        async with aiohttp.ClientSession() as http:
            while time.monotonic() < deadline:
                with contextlib.suppress(aiohttp.ClientError):
                    async with http.get(f"{self.url}/health") as response:
                        if response.status == 200:
                            return
                await asyncio.sleep(0.1)
        raise RuntimeError("the SMTP and SMS sinks did not start")

    async def new_records(self) -> list[Record]:
        """What was accepted since the last call."""
        async with aiohttp.ClientSession() as http, \
                http.get(f"{self.url}/records", params={"after": str(self._seen)}) as response:
            body = await response.json()
        self._seen = body["next"]
        return [(r[0], r[1], r[2], r[3]) for r in body["records"]]

    async def stop(self) -> None:
        if self.process is not None and self.process.returncode is None:
            self.process.terminate()
            try:
                await asyncio.wait_for(self.process.wait(), 10)
            except TimeoutError:
                self.process.kill()
                await self.process.wait()


def new_sinks() -> Sinks:
    return Sinks(free_port(), free_port())


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.sinks", description=__doc__)
    parser.add_argument("--smtp-port", type=int, required=True)
    parser.add_argument("--http-port", type=int, required=True)
    parser.add_argument("--token", required=True)
    args = parser.parse_args()
    asyncio.run(serve(args.smtp_port, args.http_port, args.token))


if __name__ == "__main__":
    main()
