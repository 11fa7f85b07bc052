"""Login with password and one-time code, token refresh, logout, and the public keys."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

from aiohttp import web

from services.auth import accounts, domain, storage
from services.auth.appkeys import KEYRING, PASSWORDS, SETTINGS
from services.auth.schemas import LoginRequest, RefreshRequest, ResendRequest, VerifyRequest
from services.common.errors import Problem, field_error, not_found, too_many, unauthorized
from services.common.events import iso
from services.common.outbox import add_event
from services.common.web import DB, authenticate, json_response, read_json


async def login(request: web.Request) -> web.Response:
    body = await read_json(request, LoginRequest)
    settings = request.app[SETTINGS]
    address = domain.client_address(request.remote, request.headers.get("X-Forwarded-For"),
                                    settings.trusted_proxy_hops)
    user_key, address_key = domain.throttle_keys(body.username, address)
    pool = request.app[DB]
    user = await storage.fetch_login_candidate(pool, body.username, [user_key, address_key])
    now = datetime.now(UTC)
    if user["blocked_until"] is not None:
        # Held back even with the right password: a guesser learns nothing while blocked.
        wait = int((user["blocked_until"] - now).total_seconds()) + 1
        raise too_many(wait, "Too many failed logins. Try again later.")
    passwords = request.app[PASSWORDS]
    # An unknown username is checked against a dummy hash: same work, same time, same 401.
    if not await passwords.verify(user["password_hash"], body.password):
        async with pool.acquire() as conn, conn.transaction():
            await storage.record_login_failure(conn, user_key, settings.login_max_failures,
                                               settings.login_window_seconds,
                                               settings.login_lockout_seconds)
            await storage.record_login_failure(conn, address_key,
                                               settings.login_max_failures_per_address,
                                               settings.login_window_seconds,
                                               settings.login_lockout_seconds)
        raise unauthorized("Wrong username or password.")
    new_hash = None
    if passwords.needs_rehash(user["password_hash"]):
        new_hash = await passwords.hash(body.password)
    challenge_id, code = uuid.uuid4(), domain.new_code()
    channel, destination = domain.login_channel(user)
    expires_at = now + timedelta(seconds=settings.otp_ttl_seconds)
    async with pool.acquire() as conn, conn.transaction():
        await storage.clear_login_failures(conn, user_key)
        if new_hash is not None:
            await storage.update_password_hash(conn, user["id"], new_hash)
        await storage.insert_challenge(conn, challenge_id, user["id"], channel,
                                       domain.hash_code(challenge_id, code), expires_at)
        await add_event(conn, "otp.requested", domain.otp_event_data(
            challenge_id, user["id"], channel, destination, code, expires_at))
    return json_response({"challenge_id": str(challenge_id), "channel": channel,
                          "expires_at": iso(expires_at)})


def challenge_uuid(raw: str) -> uuid.UUID:
    try:
        return uuid.UUID(raw)
    except ValueError:
        raise Problem(422, "challenge_id is not a valid id.",
                      errors=[field_error("challenge_id", "must be a UUID")]) from None


async def verify(request: web.Request) -> web.Response:
    body = await read_json(request, VerifyRequest)
    challenge_id = challenge_uuid(body.challenge_id)
    settings = request.app[SETTINGS]
    async with request.app[DB].acquire() as conn, conn.transaction():
        challenge = await storage.lock_challenge(conn, challenge_id)
        now = datetime.now(UTC)
        if challenge is None or not domain.challenge_is_open(challenge, now,
                                                             settings.otp_max_attempts):
            tokens = None
        elif not domain.code_matches(challenge_id, body.code, challenge["code_hash"]):
            await storage.count_wrong_code(conn, challenge_id)  # committed with this transaction
            tokens = None
        else:
            await storage.mark_challenge_used(conn, challenge_id)
            session_id = uuid.uuid4()
            await storage.insert_session(conn, session_id, challenge["user_id"])
            tokens = await accounts.issue_tokens(conn, settings, request.app[KEYRING],
                                                 challenge["user_id"], session_id,
                                                 list(challenge["roles"]))
    if tokens is None:
        raise unauthorized("The code is wrong, used or expired.")
    return json_response(tokens)


async def resend(request: web.Request) -> web.Response:
    body = await read_json(request, ResendRequest)
    challenge_id = challenge_uuid(body.challenge_id)
    settings = request.app[SETTINGS]
    async with request.app[DB].acquire() as conn, conn.transaction():
        challenge = await storage.lock_challenge(conn, challenge_id)
        now = datetime.now(UTC)
        if challenge is None or not domain.challenge_is_open(challenge, now,
                                                             settings.otp_max_attempts):
            raise not_found("challenge")
        if challenge["sends"] > settings.otp_max_resends:
            left = int((challenge["expires_at"] - now).total_seconds()) + 1
            raise too_many(left, "The code has been sent as often as allowed. Log in again.")
        wait = domain.resend_wait_seconds(challenge, now, settings.otp_resend_interval_seconds)
        if wait:
            raise too_many(wait, "Wait a little before asking for the code again.")
        code = domain.new_code()
        expires_at = now + timedelta(seconds=settings.otp_ttl_seconds)
        await storage.replace_challenge_code(conn, challenge_id,
                                             domain.hash_code(challenge_id, code), expires_at)
        destination = challenge["phone"] if challenge["channel"] == "sms" else challenge["email"]
        await add_event(conn, "otp.requested", domain.otp_event_data(
            challenge_id, challenge["user_id"], challenge["channel"], destination, code,
            expires_at))
    return web.Response(status=204)


async def refresh(request: web.Request) -> web.Response:
    body = await read_json(request, RefreshRequest)
    settings = request.app[SETTINGS]
    token_hash = domain.hash_refresh_token(body.refresh_token)
    async with request.app[DB].acquire() as conn, conn.transaction():
        token = await storage.lock_refresh_token(conn, token_hash)
        now = datetime.now(UTC)
        if token is None:
            tokens = None
        elif token["spent_at"] is not None:
            # A spent token used again means it leaked: end the whole session.
            await storage.end_session(conn, token["session_id"], "refresh_token_reuse")
            tokens = None
        elif token["ended_at"] is not None or token["expires_at"] <= now:
            tokens = None
        else:
            await storage.spend_refresh_token(conn, token_hash)
            tokens = await accounts.issue_tokens(conn, settings, request.app[KEYRING],
                                                 token["user_id"], token["session_id"],
                                                 list(token["roles"]))
    if tokens is None:
        raise unauthorized("The refresh token is not valid.")
    return json_response(tokens)


async def logout(request: web.Request) -> web.Response:
    caller = await authenticate(request)
    await storage.end_session(request.app[DB], uuid.UUID(caller.session_id), "logout")
    return web.Response(status=204)


async def jwks(request: web.Request) -> web.Response:
    return json_response(request.app[KEYRING].jwks,
                         headers={"Cache-Control": "public, max-age=60"})
