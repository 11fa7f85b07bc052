"""Access tokens: EdDSA JWTs verified locally against auth's public keys (JWKS)."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import aiohttp
import jwt
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

log = logging.getLogger(__name__)

ALGORITHM = "EdDSA"
REQUIRED_CLAIMS = ["iss", "sub", "exp", "iat", "jti", "sid"]


class InvalidToken(Exception):
    """The token is missing, malformed, expired, or not signed by a key we trust."""


@dataclass(frozen=True)
class Caller:
    user_id: str
    session_id: str
    roles: tuple[str, ...]
    token_id: str

    @property
    def is_admin(self) -> bool:
        return "admin" in self.roles


KeyLookup = Callable[[str], Awaitable[Ed25519PublicKey | None]]


class TokenVerifier:
    """Checks signature, issuer and expiry. A token that passed is remembered until it expires, so
    the frontend's repeated requests with the same token skip the signature check (the largest
    part of a small request's CPU time); a forged or altered token is a different string."""

    def __init__(self, issuer: str, find_key: KeyLookup, leeway: float = 5.0,
                 remembered: int = 10_000) -> None:
        self.issuer = issuer
        self.find_key = find_key
        self.leeway = leeway
        self.remembered = remembered
        self._verified: dict[str, tuple[Caller, float]] = {}

    async def verify(self, token: str) -> Caller:
        known = self._verified.get(token)
        if known is not None:
            caller, expires = known
            if time.time() < expires + self.leeway:
                return caller
            del self._verified[token]
        caller, expires = await self._verify_signed(token)
        self._remember(token, caller, expires)
        return caller

    def _remember(self, token: str, caller: Caller, expires: float) -> None:
        if len(self._verified) >= self.remembered:
            now = time.time()
            self._verified = {t: v for t, v in self._verified.items() if now < v[1] + self.leeway}
            if len(self._verified) >= self.remembered:
                self._verified.clear()
        self._verified[token] = (caller, expires)

    async def _verify_signed(self, token: str) -> tuple[Caller, float]:
        try:
            header = jwt.get_unverified_header(token)
        except jwt.PyJWTError as exc:
            raise InvalidToken("malformed token") from exc
        # Checked before any key is looked up, so `alg: none` or HS256 tricks never get far.
        if header.get("alg") != ALGORITHM or not isinstance(header.get("kid"), str):
            raise InvalidToken("wrong algorithm or no key id")
        key = await self.find_key(header["kid"])
        if key is None:
            raise InvalidToken("unknown signing key")
        try:
            claims = jwt.decode(
                token,
                key,
                algorithms=[ALGORITHM],
                issuer=self.issuer,
                leeway=self.leeway,
                options={"require": REQUIRED_CLAIMS},
            )
        except jwt.PyJWTError as exc:
            raise InvalidToken(type(exc).__name__) from exc
        roles = claims.get("roles") or []
        if not isinstance(roles, list):
            raise InvalidToken("roles is not a list")
        caller = Caller(str(claims["sub"]), str(claims["sid"]), tuple(map(str, roles)),
                        str(claims["jti"]))
        return caller, float(claims["exp"])


def public_key_from_jwk(jwk: dict[str, Any]) -> Ed25519PublicKey | None:
    if jwk.get("kty") != "OKP" or jwk.get("crv") != "Ed25519":
        return None
    try:
        key = jwt.PyJWK(jwk, algorithm=ALGORITHM).key
    except jwt.PyJWTError:
        return None
    return key if isinstance(key, Ed25519PublicKey) else None


class JwksKeys:
    """Auth's public keys, fetched once and again when a token names a key we have not seen
    (a rotation); refetches are spaced out so forged key ids cannot hammer auth."""

    def __init__(self, session: aiohttp.ClientSession, jwks_url: str,
                 min_refetch_interval: float = 5.0) -> None:
        self.session = session
        self.jwks_url = jwks_url
        self.min_refetch_interval = min_refetch_interval
        self._keys: dict[str, Ed25519PublicKey] = {}
        self._fetched_at = float("-inf")
        self._lock = asyncio.Lock()

    async def find(self, kid: str) -> Ed25519PublicKey | None:
        key = self._keys.get(kid)
        if key is not None:
            return key
        async with self._lock:
            if kid not in self._keys and self._may_refetch():
                await self._fetch()
        return self._keys.get(kid)

    def _may_refetch(self) -> bool:
        return time.monotonic() - self._fetched_at >= self.min_refetch_interval

    async def _fetch(self) -> None:
        self._fetched_at = time.monotonic()
        try:
            timeout = aiohttp.ClientTimeout(total=5)
            async with self.session.get(self.jwks_url, timeout=timeout) as response:
                response.raise_for_status()
                document = await response.json()
        except (aiohttp.ClientError, TimeoutError, ValueError) as exc:
            log.warning("could not fetch the JWKS", extra={"error": type(exc).__name__})
            return
        keys = {}
        for jwk in document.get("keys", []):
            key = public_key_from_jwk(jwk)
            if key is not None and isinstance(jwk.get("kid"), str):
                keys[jwk["kid"]] = key
        self._keys = keys
