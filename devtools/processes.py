"""A service as the separate process a deployment runs: `python -m services.<name> serve`."""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import sys
from pathlib import Path
from typing import IO

import aiohttp

ROOT = Path(__file__).resolve().parent.parent
PORT_TAKEN = -1  # wait_ready: another server answers on the service's port


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class ServiceProcess:
    """One replica. Its stderr (the JSON log) goes to `log` if given, else is kept for reading."""

    def __init__(self, service: str, env: dict[str, str], port: int | None = None,
                 log: IO[bytes] | None = None) -> None:
        self.service = service
        self.chosen_port = port is None
        self.port = port or free_port()
        self.env = {**os.environ, **env}
        self.log = log
        self.process: asyncio.subprocess.Process | None = None
        self.stderr = b""

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    async def start(self, wait_ready: bool = True, timeout: float = 60.0) -> None:
        # A port picked here may be taken by someone else before the service binds it: then it is
        # started once more on another port.
        for _ in range(3 if self.chosen_port else 1):
            await self._spawn()
            if not wait_ready:
                return
            status = await self.wait_ready(timeout)
            if status == 200:
                return
            if status != PORT_TAKEN or not self.chosen_port:
                break
            await self.kill()
            self.port = free_port()
        raise RuntimeError(f"{self.service} on port {self.port} is not ready ({status})")

    async def _spawn(self) -> None:
        output = self.log if self.log is not None else asyncio.subprocess.PIPE
        self.process = await asyncio.create_subprocess_exec(
            sys.executable, "-m", f"services.{self.service}", "serve", cwd=ROOT,
            env={**self.env, f"{self.service.upper()}_PORT": str(self.port)},
            stdout=asyncio.subprocess.DEVNULL if self.log is None else self.log, stderr=output)

    async def wait_ready(self, timeout: float = 30.0) -> int:
        """Poll /readyz until this service answers 200; PORT_TAKEN if another server answers on
        its port; else the last status seen (0: it never answered)."""
        status = 0
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        async with aiohttp.ClientSession() as session:
            while loop.time() < deadline:
                if self.process is not None and self.process.returncode is not None:
                    return status
                try:
                    async with session.get(f"{self.url}/readyz") as response:
                        status = response.status
                        if status == 200:
                            return status if await self._answered_by_this_service(response) else PORT_TAKEN
                except aiohttp.ClientConnectionError:
                    pass
                await asyncio.sleep(0.1)
        return status

    async def _answered_by_this_service(self, response: aiohttp.ClientResponse) -> bool:
        try:
            body = await response.json(content_type=None)
        except ValueError:
            return False
        return isinstance(body, dict) and body.get("service") == self.service

    async def stop(self, sig: int = signal.SIGTERM, timeout: float = 30.0) -> int:
        assert self.process is not None
        if self.process.returncode is None:
            self.process.send_signal(sig)
        _, stderr = await asyncio.wait_for(self.process.communicate(), timeout)
        self.stderr = stderr or b""
        assert self.process.returncode is not None
        return self.process.returncode

    async def kill(self) -> None:
        if self.process is not None and self.process.returncode is None:
            self.process.kill()
            await self.process.wait()


async def run_module(args: list[str], env: dict[str, str]) -> None:
    """Run `python -m ...` to completion (migrations, commands); raise if it fails."""
    process = await asyncio.create_subprocess_exec(sys.executable, "-m", *args, cwd=ROOT,
                                                   env={**os.environ, **env})
    if await process.wait() != 0:
        raise RuntimeError(f"failed: python -m {' '.join(args)}")
