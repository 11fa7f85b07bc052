"""Argon2id password hashing, always on a worker thread so the event loop keeps serving."""

from __future__ import annotations

import asyncio
import secrets

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError


class Passwords:
    def __init__(self, time_cost: int, memory_kib: int, parallelism: int) -> None:
        self.hasher = PasswordHasher(time_cost=time_cost, memory_cost=memory_kib,
                                     parallelism=parallelism)
        # Verified against when the username is unknown, so both cases cost the same time.
        self.dummy_hash = self.hasher.hash(secrets.token_urlsafe(16))

    async def hash(self, password: str) -> str:
        return await asyncio.to_thread(self.hasher.hash, password)

    async def verify(self, stored_hash: str | None, password: str) -> bool:
        return await asyncio.to_thread(self._verify, stored_hash or self.dummy_hash, password,
                                       stored_hash is not None)

    def _verify(self, stored_hash: str, password: str, real: bool) -> bool:
        try:
            ok = self.hasher.verify(stored_hash, password)
        except (VerificationError, InvalidHashError):
            return False
        return ok and real

    def needs_rehash(self, stored_hash: str) -> bool:
        return self.hasher.check_needs_rehash(stored_hash)
