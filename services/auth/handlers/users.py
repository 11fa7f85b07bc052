"""The caller's profile and password, admin creation of users, and users' public cards."""

from __future__ import annotations

import uuid

import asyncpg
from aiohttp import web

from services.auth import accounts, domain, storage
from services.auth.appkeys import PASSWORDS
from services.auth.schemas import NewUser, PasswordChange, ProfileUpdate
from services.common import idempotency
from services.common.errors import Problem, forbidden, invalid, not_found, unauthorized
from services.common.outbox import add_event
from services.common.tokens import Caller
from services.common.web import DB, authenticate, json_response, path_uuid, read_json


async def current_user(conn: asyncpg.Connection | asyncpg.Pool, caller: Caller) -> asyncpg.Record:
    user = await storage.fetch_user_in_session(conn, uuid.UUID(caller.user_id),
                                               uuid.UUID(caller.session_id))
    if user is None:
        raise unauthorized("The session has ended. Log in again.")
    return user


async def get_me(request: web.Request) -> web.Response:
    caller = await authenticate(request)
    return json_response(domain.user_view(await current_user(request.app[DB], caller)))


async def update_me(request: web.Request) -> web.Response:
    caller = await authenticate(request)
    body = await read_json(request, ProfileUpdate)
    async with request.app[DB].acquire() as conn, conn.transaction():
        user = await current_user(conn, caller)
        changes = {k: v for k, v in body.model_dump(exclude_unset=True).items() if v != user[k]}
        if not changes:
            return json_response(domain.user_view(user))
        merged = {**dict(user), **changes}
        problem = domain.channel_problem(merged["notify_channel"], merged["phone"])
        if problem:
            raise invalid("notify_channel", problem)
        updated = await storage.update_user_fields(conn, user["id"], changes)
        await add_event(conn, "user.updated", domain.user_event_data(updated))
    return json_response(domain.user_view(updated))


async def change_password(request: web.Request) -> web.Response:
    caller = await authenticate(request)
    body = await read_json(request, PasswordChange)
    passwords = request.app[PASSWORDS]
    pool = request.app[DB]
    user = await current_user(pool, caller)
    if not await passwords.verify(user["password_hash"], body.current_password):
        raise invalid("current_password", "is not the current password")
    new_hash = await passwords.hash(body.new_password)
    async with pool.acquire() as conn, conn.transaction():
        await storage.update_password_hash(conn, user["id"], new_hash)
        await storage.end_other_sessions(conn, user["id"], uuid.UUID(caller.session_id),
                                         "password_changed")
    return web.Response(status=204)


async def create_user(request: web.Request) -> web.Response:
    caller = await authenticate(request)
    if not caller.is_admin:
        raise forbidden("Only administrators create users.")
    key = idempotency.idempotency_key(request)
    raw = await request.read()
    body = await read_json(request, NewUser)
    problem = domain.channel_problem(body.notify_channel, body.phone)
    if problem:
        raise invalid("notify_channel", problem)
    password_hash = await request.app[PASSWORDS].hash(body.password)
    async with request.app[DB].acquire() as conn, conn.transaction():
        if key is not None:
            stored = await idempotency.claim_key(conn, caller.user_id, key,
                                                 idempotency.fingerprint(request, raw))
            if stored is not None:
                return json_response(stored.body, status=stored.status)
        user = await accounts.create_user(conn, body, password_hash)
        if user is None:
            raise Problem(409, "That username is taken.")
        view = domain.user_view(user)
        if key is not None:
            await idempotency.store_answer(conn, caller.user_id, key, 201, view)
    return json_response(view, status=201)


async def get_user(request: web.Request) -> web.Response:
    caller = await authenticate(request)
    user_id = path_uuid(request, "user_id")
    user = await storage.fetch_user(request.app[DB], user_id)
    if user is None:
        raise not_found("user")
    return json_response(domain.user_view(user) if caller.is_admin else domain.user_card(user))
