"""The HTTP plumbing every service shares: middlewares, body parsing, callers, cursors, ops routes."""

from __future__ import annotations

import asyncio
import base64
import binascii
import json
import logging
import re
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from pathlib import Path
from typing import Any, TypeVar

import aiohttp
import asyncpg
import orjson
import prometheus_client
from aiohttp import web
from pydantic import BaseModel, ValidationError

from services.common import db
from services.common.broker import Broker
from services.common.config import CommonSettings
from services.common.consumer import Consumer, Subscription, declare_queues
from services.common.errors import Problem, field_error, problem_response, unauthorized
from services.common.logging import request_id_var
from services.common.metrics import Metrics
from services.common.outbox import OutboxRelay
from services.common.tokens import Caller, InvalidToken, JwksKeys, TokenVerifier

log = logging.getLogger(__name__)

T = TypeVar("T", bound=BaseModel)
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]

COMMON = web.AppKey("common_settings", CommonSettings)
DB = web.AppKey("db", asyncpg.Pool)
BROKER = web.AppKey("broker", Broker)
METRICS = web.AppKey("metrics", Metrics)
VERIFIER = web.AppKey("verifier", TokenVerifier)
OPENAPI = web.AppKey("openapi", dict)
SHUTTING_DOWN = web.AppKey("shutting_down", asyncio.Event)
CONSUMERS = web.AppKey("consumers", list)
RELAY = web.AppKey("relay", OutboxRelay)

# The database (or another dependency) is down or restarting: a 503 to retry, not a bug.
DEPENDENCY_DOWN = (
    OSError,
    TimeoutError,
    asyncpg.InterfaceError,
    asyncpg.PostgresConnectionError,
    asyncpg.OperatorInterventionError,
    asyncpg.InternalClientError,  # a connection cut mid-query while the server shuts down
)
REQUEST_ID_PATTERN = re.compile(r"^[A-Za-z0-9._-]{1,64}$")
CORS_HEADERS = "Authorization, Content-Type, Idempotency-Key, X-Request-ID"
CORS_METHODS = "GET, POST, PATCH, PUT, DELETE, OPTIONS"


# --- middlewares ------------------------------------------------------------------------------

def route_label(request: web.Request) -> str:
    resource = request.match_info.route.resource
    return resource.canonical if resource is not None else "unmatched"


@web.middleware
async def request_context(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Request id, one structured log line per request, and the per-route metrics."""
    incoming = request.headers.get("X-Request-ID", "")
    request_id = incoming if REQUEST_ID_PATTERN.match(incoming) else uuid.uuid4().hex
    token = request_id_var.set(request_id)
    started = time.perf_counter()
    status = 500
    try:
        response = await handler(request)
        status = response.status
        response.headers["X-Request-ID"] = request_id
        if request.method != "GET" and status < 400 and RELAY in request.app:
            request.app[RELAY].wake()  # the change may have put events in the outbox
        return response
    finally:
        elapsed = time.perf_counter() - started
        route = route_label(request)
        metrics = request.app[METRICS]
        metrics.http_requests(method=request.method, route=route, status=str(status)).inc()
        metrics.http_latency(method=request.method, route=route).observe(elapsed)
        if route not in ("/healthz", "/readyz", "/metrics"):
            log.info("request", extra={"method": request.method, "route": route,
                                       "status": status, "ms": round(elapsed * 1000, 2)})
        request_id_var.reset(token)


@web.middleware
async def problems(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Every error leaves as problem+json; an unexpected one is logged and is a plain 500."""
    try:
        return await handler(request)
    except Problem as problem:
        return problem.to_response()
    except web.HTTPRequestEntityTooLarge:
        return problem_response(413, "The request body is larger than this service accepts.")
    except web.HTTPException as exc:
        if exc.status < 400:
            raise
        return problem_response(exc.status, exc.reason or "Request failed.",
                                headers=_allowed_headers(exc))
    except asyncio.CancelledError:
        raise
    except DEPENDENCY_DOWN as exc:
        log.warning("dependency unavailable", extra={"error": type(exc).__name__})
        return problem_response(503, "A service we depend on is briefly unavailable. Try again.",
                                headers={"Retry-After": "2"})
    except Exception:
        log.exception("unhandled error")
        return problem_response(500, "Something went wrong on our side.")


def _allowed_headers(exc: web.HTTPException) -> dict[str, str]:
    allow = exc.headers.get("Allow")
    return {"Allow": allow} if allow else {}


def cors(allowed_origins: Sequence[str]) -> Callable[..., Awaitable[web.StreamResponse]]:
    """Cross-origin access for the web frontend's origins only; none when the list is empty."""
    allowed = frozenset(allowed_origins)

    @web.middleware
    async def middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
        origin = request.headers.get("Origin")
        if origin is None or origin not in allowed:
            return await handler(request)
        if request.method == "OPTIONS" and "Access-Control-Request-Method" in request.headers:
            response: web.StreamResponse = web.Response(status=204)
            response.headers["Access-Control-Allow-Methods"] = CORS_METHODS
            response.headers["Access-Control-Allow-Headers"] = CORS_HEADERS
            response.headers["Access-Control-Max-Age"] = "600"
        else:
            response = await handler(request)
        response.headers["Access-Control-Allow-Origin"] = origin
        response.headers["Access-Control-Expose-Headers"] = "Retry-After, X-Request-ID"
        response.headers["Vary"] = "Origin"
        return response

    return middleware


def base_app(settings: CommonSettings, openapi: dict[str, Any]) -> web.Application:
    """An application with the shared middlewares and the operational routes."""
    app = web.Application(
        client_max_size=settings.max_body_bytes,
        middlewares=[request_context, cors(settings.cors_allowed_origins), problems],
    )
    app[COMMON] = settings
    app[METRICS] = Metrics(settings.service)
    app[OPENAPI] = openapi
    app[SHUTTING_DOWN] = asyncio.Event()
    app[CONSUMERS] = []
    app.router.add_get("/healthz", healthz)
    app.router.add_get("/readyz", readyz)
    app.router.add_get("/metrics", metrics_endpoint)
    app.router.add_get("/openapi.json", openapi_endpoint)
    app.on_shutdown.append(_mark_shutting_down)
    return app


async def _mark_shutting_down(app: web.Application) -> None:
    app[SHUTTING_DOWN].set()


# --- request helpers --------------------------------------------------------------------------

async def read_json(request: web.Request, model: type[T]) -> T:
    """The body as `model`: 400 when it is not JSON, 422 naming each field that is wrong."""
    raw = await request.read()
    if not raw.strip():
        raise Problem(400, "The request needs a JSON body.")
    try:
        data = json.loads(raw)
    # RecursionError: JSON nested thousands deep fits in the body limit but not on the stack.
    except (UnicodeDecodeError, json.JSONDecodeError, RecursionError):
        raise Problem(400, "The request body is not valid JSON.") from None
    if not isinstance(data, dict):
        raise Problem(422, "The request body must be a JSON object.",
                      errors=[field_error("", "must be an object")])
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise validation_problem(exc) from None


def validation_problem(exc: ValidationError) -> Problem:
    errors = [
        field_error(".".join(str(part) for part in error["loc"]), error["msg"])
        for error in exc.errors(include_url=False, include_input=False)
    ]
    return Problem(422, "Some fields are missing or invalid.", errors=errors)


def path_uuid(request: web.Request, name: str) -> uuid.UUID:
    try:
        return uuid.UUID(request.match_info[name])
    except ValueError:
        raise Problem(422, f"{name} is not a valid id.",
                      errors=[field_error(name, "must be a UUID")]) from None


def query_uuid(request: web.Request, name: str) -> uuid.UUID | None:
    raw = request.query.get(name)
    if raw is None or raw == "":
        return None
    try:
        return uuid.UUID(raw)
    except ValueError:
        raise Problem(422, f"{name} is not a valid id.",
                      errors=[field_error(name, "must be a UUID")]) from None


def page_limit(request: web.Request, default: int = 50, maximum: int = 200) -> int:
    raw = request.query.get("limit")
    if raw is None:
        return default
    if not raw.isdigit() or not 1 <= int(raw) <= maximum:
        raise Problem(422, f"limit must be a whole number from 1 to {maximum}.",
                      errors=[field_error("limit", f"must be from 1 to {maximum}")])
    return int(raw)


def encode_cursor(values: Sequence[Any]) -> str:
    return base64.urlsafe_b64encode(json.dumps(list(values)).encode()).decode().rstrip("=")


def decode_cursor(request: web.Request, arity: int) -> list[Any] | None:
    """The `cursor` query parameter as the list it encodes, or None on the first page."""
    raw = request.query.get("cursor")
    if not raw:
        return None
    try:
        values = json.loads(base64.urlsafe_b64decode(raw + "=" * (-len(raw) % 4)))
    except (binascii.Error, ValueError):
        values = None
    if not isinstance(values, list) or len(values) != arity:
        raise Problem(422, "cursor is not one this service gave out.",
                      errors=[field_error("cursor", "invalid cursor")])
    return values


async def authenticate(request: web.Request) -> Caller:
    """The caller named by the bearer token, or 401."""
    header = request.headers.get("Authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise unauthorized()
    try:
        return await request.app[VERIFIER].verify(token.strip())
    except InvalidToken:
        raise unauthorized("The access token is invalid or has expired.") from None


def json_response(data: Any, status: int = 200, headers: dict[str, str] | None = None
                  ) -> web.Response:
    # orjson: several times faster than json on the lists that make up most responses.
    return web.Response(body=orjson.dumps(data, default=str, option=orjson.OPT_NON_STR_KEYS),
                        status=status, content_type="application/json", charset="utf-8",
                        headers=headers)


# --- operational routes -----------------------------------------------------------------------

async def healthz(request: web.Request) -> web.Response:
    return json_response({"status": "ok"})


async def readyz(request: web.Request) -> web.Response:
    app = request.app
    checks = {"database": await _database_ok(app), "broker": BROKER in app and app[BROKER].ready}
    if app[SHUTTING_DOWN].is_set():
        checks["accepting"] = False
    ok = all(checks.values())
    # The service's name: an operator (or a test harness) sees which process answered on the port.
    return json_response({"status": "ready" if ok else "unavailable", "service": app[COMMON].service,
                          "checks": checks}, status=200 if ok else 503)


async def _database_ok(app: web.Application) -> bool:
    if DB not in app:
        return False
    try:
        async with asyncio.timeout(2):
            return await app[DB].fetchval("select true") is True
    except (OSError, TimeoutError, asyncpg.PostgresError, asyncpg.InterfaceError):
        return False


async def metrics_endpoint(request: web.Request) -> web.Response:
    output = prometheus_client.generate_latest(request.app[METRICS].registry)
    return web.Response(body=output, headers={"Content-Type": prometheus_client.CONTENT_TYPE_LATEST})


async def openapi_endpoint(request: web.Request) -> web.Response:
    return json_response(request.app[OPENAPI])


# --- resources, one cleanup context each --------------------------------------------------------

def database_context(service_dir: Path) -> Callable[[web.Application], AsyncIterator[None]]:
    """Create the database if missing, apply migrations, open the pool."""

    async def context(app: web.Application) -> AsyncIterator[None]:
        settings = app[COMMON]
        await db.apply_migrations(settings.database_url, service_dir)
        pool = await db.create_pool(settings.database_url, settings.db_pool_min,
                                    settings.db_pool_max)
        app[DB] = pool
        yield
        await pool.close()

    return context


def broker_context(
    subscriptions: Sequence[Subscription] = (), relay: bool = True, connect_timeout: float = 0
) -> Callable[[web.Application], AsyncIterator[None]]:
    """Connect to RabbitMQ (in the background when it is down), declare this service's queues,
    start its consumers and its outbox relay; on shutdown drain consumers first."""

    async def context(app: web.Application) -> AsyncIterator[None]:
        settings = app[COMMON]
        broker = Broker(settings.amqp_url, settings.amqp_exchange, settings.amqp_queue_prefix)
        app[BROKER] = broker
        consumers = [Consumer(broker, settings.service, sub, app[METRICS]) for sub in subscriptions]

        async def declare_and_consume() -> None:
            """After every (re)connection: the queues, then each consumer on its own channel."""
            if subscriptions:
                await declare_queues(broker, settings.service, subscriptions)
            for consumer in consumers:
                await consumer.attach()
                if consumer not in app[CONSUMERS]:
                    app[CONSUMERS].append(consumer)  # consuming (tests wait for this)

        broker.on_connect(declare_and_consume)
        broker.start()
        if connect_timeout:
            await broker.wait_connected(connect_timeout)
        outbox_relay = None
        if relay:
            outbox_relay = OutboxRelay(app[DB], broker, app[METRICS])
            outbox_relay.start()
            app[RELAY] = outbox_relay
        yield
        for consumer in consumers:
            await consumer.stop(settings.shutdown_grace_seconds)
        if outbox_relay is not None:
            await outbox_relay.stop()
        await broker.close()

    return context


def jwks_context() -> Callable[[web.Application], AsyncIterator[None]]:
    """For services other than auth: verify tokens with auth's published keys."""

    async def context(app: web.Application) -> AsyncIterator[None]:
        settings = app[COMMON]
        async with aiohttp.ClientSession() as session:
            keys = JwksKeys(session, f"{settings.auth_url}/.well-known/jwks.json")
            app[VERIFIER] = TokenVerifier(settings.token_issuer, keys.find)
            yield

    return context


def run(app: web.Application, settings: CommonSettings) -> None:
    """Serve until SIGTERM/SIGINT: then stop accepting, finish requests in flight, clean up."""
    web.run_app(app, host=settings.bind_host, port=settings.port, access_log=None,
                shutdown_timeout=settings.shutdown_grace_seconds, print=None)
