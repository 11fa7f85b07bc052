"""Access tokens: only untampered, unexpired EdDSA tokens signed by a published key get in."""

from __future__ import annotations

import asyncio
import base64
import json
import time
import uuid

import aiohttp
import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from services.auth.keys import rotate_signing_key
from services.common.tokens import InvalidToken, JwksKeys, TokenVerifier
from services.common.web import DB
from tests.support import AuthHarness, bearer


def b64(data: dict) -> str:
    return base64.urlsafe_b64encode(json.dumps(data).encode()).decode().rstrip("=")


def claims(user_id: str, **overrides: object) -> dict:
    now = int(time.time())
    base = {"iss": "samhandling-auth", "sub": user_id, "sid": str(uuid.uuid4()), "roles": [],
            "iat": now, "exp": now + 600, "jti": uuid.uuid4().hex}
    base.update(overrides)
    return base


async def status_with(auth: AuthHarness, token: str) -> int:
    return (await auth.client.get("/v1/users/me", headers=bearer(token))).status


async def test_tampered_token_is_refused(auth: AuthHarness) -> None:
    await auth.create_user("kari")
    token = await auth.token("kari")
    header, payload, signature = token.split(".")
    forged = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    forged["roles"] = ["admin"]
    assert await status_with(auth, f"{header}.{b64(forged)}.{signature}") == 401


async def test_alg_none_is_refused(auth: AuthHarness) -> None:
    user_id = await auth.create_user("kari")
    kid = auth.app_keyring_kid()
    token = f"{b64({'alg': 'none', 'typ': 'JWT', 'kid': kid})}.{b64(claims(user_id))}."
    assert await status_with(auth, token) == 401


async def test_hs256_signed_with_the_public_key_is_refused(auth: AuthHarness) -> None:
    user_id = await auth.create_user("kari")
    jwk = (await (await auth.client.get("/.well-known/jwks.json")).json())["keys"][0]
    token = jwt.encode(claims(user_id), jwk["x"], algorithm="HS256", headers={"kid": jwk["kid"]})
    assert await status_with(auth, token) == 401


async def test_expired_token_is_refused(auth: AuthHarness) -> None:
    user_id = await auth.create_user("kari")
    keyring = auth.keyring()
    past = int(time.time()) - 3600
    token = jwt.encode(claims(user_id, iat=past, exp=past + 900), keyring.signing.private_key,
                       algorithm="EdDSA", headers={"kid": keyring.signing.kid})
    assert await status_with(auth, token) == 401


async def test_token_signed_by_an_unknown_key_is_refused(auth: AuthHarness) -> None:
    user_id = await auth.create_user("kari")
    stranger = Ed25519PrivateKey.generate()
    for kid in ("unknown", auth.app_keyring_kid()):
        token = jwt.encode(claims(user_id), stranger, algorithm="EdDSA", headers={"kid": kid})
        assert await status_with(auth, token) == 401


async def test_no_token_or_another_scheme_is_401_with_a_challenge(auth: AuthHarness) -> None:
    response = await auth.client.get("/v1/users/me")
    assert response.status == 401
    assert response.headers["WWW-Authenticate"].startswith("Bearer")
    assert response.content_type == "application/problem+json"
    basic = await auth.client.get("/v1/users/me", headers={"Authorization": "Basic a2FyaTpw"})
    assert basic.status == 401


async def test_rotation_keeps_old_tokens_valid_and_signs_with_the_new_key(auth: AuthHarness) -> None:
    await auth.create_user("kari")
    old_token = await auth.token("kari")
    new_kid = await rotate_signing_key(auth.app[DB])
    await auth.keyring().load()
    jwks = await (await auth.client.get("/.well-known/jwks.json")).json()
    assert {k["kid"] for k in jwks["keys"]} >= {new_kid, jwt.get_unverified_header(old_token)["kid"]}
    assert await status_with(auth, old_token) == 200
    new_token = await auth.token("kari")
    assert jwt.get_unverified_header(new_token)["kid"] == new_kid


async def test_other_services_verify_with_the_jwks_and_refetch_on_a_new_kid(auth: AuthHarness
                                                                            ) -> None:
    await auth.create_user("kari")
    async with aiohttp.ClientSession() as session:
        keys = JwksKeys(session, f"{auth.url}/.well-known/jwks.json", min_refetch_interval=0)
        verifier = TokenVerifier("samhandling-auth", keys.find)
        caller = await verifier.verify(await auth.token("kari"))
        assert caller.roles == ()
        await rotate_signing_key(auth.app[DB])
        await auth.keyring().load()
        rotated = await auth.token("kari")
        assert (await verifier.verify(rotated)).user_id == caller.user_id
        try:
            await verifier.verify(rotated[:-4] + "AAAA")
        except InvalidToken:
            pass
        else:
            raise AssertionError("a token with a broken signature was accepted")


async def test_a_verified_token_is_remembered_until_it_expires() -> None:
    key = Ed25519PrivateKey.generate()
    lookups = []

    async def find_key(kid: str):
        lookups.append(kid)
        return key.public_key() if kid == "k1" else None

    verifier = TokenVerifier("samhandling-auth", find_key, leeway=0)
    token = jwt.encode(claims("kari"), key, algorithm="EdDSA", headers={"kid": "k1"})
    first = await verifier.verify(token)
    assert await verifier.verify(token) == first
    assert lookups == ["k1"]  # the second time, no signature check
    forged = token[:-4] + "AAAA"
    for _ in range(2):  # a refused token is not remembered as good either
        with pytest.raises(InvalidToken):
            await verifier.verify(forged)
    short = jwt.encode(claims("kari", exp=int(time.time()) + 1), key, algorithm="EdDSA",
                       headers={"kid": "k1"})
    await verifier.verify(short)
    await asyncio.sleep(2.1)
    with pytest.raises(InvalidToken):  # remembered, but expired now
        await verifier.verify(short)


async def test_remembering_is_bounded() -> None:
    key = Ed25519PrivateKey.generate()

    async def find_key(kid: str):
        return key.public_key()

    verifier = TokenVerifier("samhandling-auth", find_key, remembered=3)
    for n in range(10):
        token = jwt.encode(claims(f"user{n}"), key, algorithm="EdDSA", headers={"kid": "k1"})
        assert (await verifier.verify(token)).user_id == f"user{n}"
        assert len(verifier._verified) <= 3
