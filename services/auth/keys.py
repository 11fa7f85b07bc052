"""Ed25519 signing keys kept in the database, so every replica signs and publishes the same set."""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import time
import uuid
from dataclasses import dataclass
from typing import Any

import asyncpg
import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from services.auth import storage
from services.common.tokens import ALGORITHM, public_key_from_jwk

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class SigningKey:
    kid: str
    private_key: Ed25519PrivateKey


def generate_key() -> tuple[str, bytes, dict[str, Any]]:
    """A new key: (kid, private key as PKCS#8 DER, public JWK)."""
    private = Ed25519PrivateKey.generate()
    kid = uuid.uuid4().hex[:16]
    der = private.private_bytes(serialization.Encoding.DER, serialization.PrivateFormat.PKCS8,
                                serialization.NoEncryption())
    jwk = json.loads(jwt.algorithms.OKPAlgorithm.to_jwk(private.public_key()))
    jwk.update({"kid": kid, "use": "sig", "alg": ALGORITHM})
    return kid, der, jwk


async def ensure_signing_key(pool: asyncpg.Pool) -> None:
    """Create the first key if there is none (one replica does it; the others wait and see it)."""
    async with pool.acquire() as conn, conn.transaction():
        await conn.execute("select pg_advisory_xact_lock(hashtext('auth.signing_keys'))")
        if not await storage.has_active_signing_key(conn):
            await storage.insert_signing_key(conn, *generate_key())


async def rotate_signing_key(pool: asyncpg.Pool) -> str:
    """Retire the signing key(s) in use and add a new one; returns the new kid."""
    async with pool.acquire() as conn, conn.transaction():
        await conn.execute("select pg_advisory_xact_lock(hashtext('auth.signing_keys'))")
        await storage.retire_signing_keys(conn)
        kid, der, jwk = generate_key()
        await storage.insert_signing_key(conn, kid, der, jwk)
        return kid


class KeyRing:
    """The current signing key and every public key still valid, reloaded now and then so a
    rotation done by one replica (or the rotate-keys command) reaches all of them."""

    def __init__(self, pool: asyncpg.Pool, token_ttl_seconds: int, refresh_seconds: int) -> None:
        self.pool = pool
        self.token_ttl_seconds = token_ttl_seconds
        self.refresh_seconds = refresh_seconds
        self.signing: SigningKey | None = None
        self.public: dict[str, Ed25519PublicKey] = {}
        self.jwks: dict[str, Any] = {"keys": []}
        self._loaded_at = float("-inf")
        self._lock = asyncio.Lock()
        self._task: asyncio.Task[None] | None = None

    async def load(self) -> None:
        # A replica that has not reloaded yet may sign with a retired key for up to
        # refresh_seconds more; its tokens then live token_ttl_seconds (plus clock slack).
        rows = await storage.fetch_published_keys(
            self.pool, self.token_ttl_seconds + self.refresh_seconds + 60)
        jwks = [row["public_jwk"] for row in rows]
        self.public = {jwk["kid"]: key for jwk in jwks if (key := public_key_from_jwk(jwk))}
        self.jwks = {"keys": jwks}
        active = [row for row in rows if row["retired_at"] is None]
        if active:
            newest = active[0]
            private = serialization.load_der_private_key(newest["private_key"], password=None)
            assert isinstance(private, Ed25519PrivateKey)
            self.signing = SigningKey(newest["kid"], private)
        self._loaded_at = time.monotonic()

    async def find(self, kid: str) -> Ed25519PublicKey | None:
        """Public key by id; an unknown id triggers one reload (it may be a fresh rotation)."""
        key = self.public.get(kid)
        if key is None and time.monotonic() - self._loaded_at > 1.0:
            async with self._lock:
                await self.load()
            key = self.public.get(kid)
        return key

    def start(self) -> None:
        self._task = asyncio.create_task(self._reload_forever())

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task

    async def _reload_forever(self) -> None:
        while True:
            await asyncio.sleep(self.refresh_seconds)
            try:
                await self.load()
            except (OSError, asyncpg.PostgresError, asyncpg.InterfaceError) as exc:
                log.warning("could not reload signing keys", extra={"error": type(exc).__name__})
