"""Argon2id password hashing, always on worker threads so the event loop keeps serving."""

from __future__ import annotations

import asyncio
import contextlib
import os
import secrets
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import TypeVar

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

# Hashing threads run at a lower CPU priority (a higher nice value) than the event loop: a burst of
# logins then slows other logins, not the relay that hands out their codes or the health checks.
HASHING_NICENESS = 10

T = TypeVar("T")


def lower_thread_priority() -> None:
    """Lower the calling thread's priority (Linux: nice is per thread, and the threads argon2
    starts for its lanes inherit it). Where that is not possible, the thread runs as it is."""
    with contextlib.suppress(AttributeError, OSError):
        os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), HASHING_NICENESS)


def hashing_executor() -> ThreadPoolExecutor:
    # The same size as asyncio's default executor.
    return ThreadPoolExecutor(max_workers=min(32, (os.cpu_count() or 1) + 4),
                              thread_name_prefix="argon2", initializer=lower_thread_priority)


class Passwords:
    def __init__(self, time_cost: int, memory_kib: int, parallelism: int) -> None:
        self.hasher = PasswordHasher(time_cost=time_cost, memory_cost=memory_kib,
                                     parallelism=parallelism)
        self.executor = hashing_executor()
        # Verified against when the username is unknown, so both cases cost the same time.
        self.dummy_hash = self.hasher.hash(secrets.token_urlsafe(16))

    async def hash(self, password: str) -> str:
        return await self._in_thread(self.hasher.hash, password)

    async def verify(self, stored_hash: str | None, password: str) -> bool:
        return await self._in_thread(self._verify, stored_hash or self.dummy_hash, password,
                                     stored_hash is not None)

    async def _in_thread(self, function: Callable[..., T], *args: object) -> T:
        return await asyncio.get_running_loop().run_in_executor(self.executor, function, *args)

    def _verify(self, stored_hash: str, password: str, real: bool) -> bool:
        try:
            ok = self.hasher.verify(stored_hash, password)
        except (VerificationError, InvalidHashError):
            return False
        return ok and real

    def needs_rehash(self, stored_hash: str) -> bool:
        return self.hasher.check_needs_rehash(stored_hash)

    def close(self) -> None:
        self.executor.shutdown(wait=False, cancel_futures=True)
