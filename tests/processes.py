"""Running a service as the separate process a deployment runs: `python -m services.<name>`."""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import sys
from pathlib import Path

import aiohttp

ROOT = Path(__file__).resolve().parent.parent


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class ServiceProcess:
    def __init__(self, service: str, env: dict[str, str], port: int | None = None) -> None:
        self.service = service
        self.port = port or free_port()
        self.env = {**os.environ, **env, f"{service.upper()}_PORT": str(self.port)}
        self.process: asyncio.subprocess.Process | None = None
        self.stderr = b""

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    async def start(self, wait_ready: bool = True) -> None:
        self.process = await asyncio.create_subprocess_exec(
            sys.executable, "-m", f"services.{self.service}", "serve", cwd=ROOT, env=self.env,
            stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.PIPE)
        if wait_ready:
            status = await self.wait_ready()
            assert status == 200, f"{self.service} not ready ({status})"

    async def wait_ready(self, timeout: float = 30.0) -> int:
        """Poll /readyz until 200; the last status seen otherwise (0: never answered)."""
        status = 0
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        async with aiohttp.ClientSession() as session:
            while loop.time() < deadline:
                try:
                    async with session.get(f"{self.url}/readyz") as response:
                        status = response.status
                        if status == 200:
                            return status
                except aiohttp.ClientConnectionError:
                    pass
                await asyncio.sleep(0.1)
        return status

    async def stop(self, sig: int = signal.SIGTERM, timeout: float = 30.0) -> int:
        assert self.process is not None
        if self.process.returncode is None:
            self.process.send_signal(sig)
        _, self.stderr = await asyncio.wait_for(self.process.communicate(), timeout)
        assert self.process.returncode is not None
        return self.process.returncode

    async def kill(self) -> None:
        if self.process is not None and self.process.returncode is None:
            self.process.kill()
            await self.process.wait()
