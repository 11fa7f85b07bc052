"""A small local gateway: one origin for the frontend, routing by the contract's prefixes and
spreading requests over every replica of a service (what nginx or an Ingress does in deploy/)."""

from __future__ import annotations

import itertools
import logging
from collections.abc import AsyncIterator, Sequence

import aiohttp
from aiohttp import web

log = logging.getLogger(__name__)
ROUTES = (
    ("/v1/auth", "auth"),
    ("/v1/users", "auth"),
    ("/.well-known", "auth"),
    ("/v1/plans", "plans"),
    ("/v1/messages", "messages"),
    ("/v1/notifications", "notifier"),
)
HOP_BY_HOP = {"connection", "keep-alive", "transfer-encoding", "upgrade", "proxy-connection",
              "te", "trailer", "host", "content-length"}
UPSTREAMS = web.AppKey("upstreams", dict)
UPSTREAM_LISTS = web.AppKey("upstream_lists", dict)
SESSION = web.AppKey("session", aiohttp.ClientSession)


def service_for(path: str) -> str | None:
    for prefix, service in ROUTES:
        if path == prefix or path.startswith(prefix + "/"):
            return service
    return None


async def proxy(request: web.Request) -> web.StreamResponse:
    service = service_for(request.path)
    replicas = request.app[UPSTREAMS].get(service) if service else None
    if replicas is None:
        return web.json_response({"type": "about:blank", "title": "Not found", "status": 404,
                                  "detail": "No service serves this path."}, status=404,
                                 content_type="application/problem+json")
    headers = {k: v for k, v in request.headers.items() if k.lower() not in HOP_BY_HOP}
    forwarded = request.headers.get("X-Forwarded-For")
    headers["X-Forwarded-For"] = f"{forwarded}, {request.remote}" if forwarded else str(request.remote)
    body = await request.read()
    # A replica that refuses the connection (stopping, or not started) never saw the request,
    # so the next one may take it. One that dropped the connection may or may not have: only a
    # request that is safe to repeat (idempotent method, or an Idempotency-Key) goes on.
    urls = request.app[UPSTREAM_LISTS][service]
    first = next(replicas)  # round robin over requests; each request then tries every replica
    for upstream in urls[first:] + urls[:first]:
        try:
            return await forward(request, upstream, headers, body)
        except aiohttp.ClientConnectorError:
            continue
        except (aiohttp.ServerDisconnectedError, aiohttp.ClientOSError) as exc:
            if safe_to_repeat(request):
                continue
            log.warning("upstream dropped a request that is not safe to repeat",
                        extra={"service": service, "error": type(exc).__name__})
            break
        except aiohttp.ClientError as exc:
            log.warning("upstream failed", extra={"service": service, "error": type(exc).__name__})
            break
    return web.json_response({"type": "about:blank", "title": "Bad gateway", "status": 502,
                              "detail": f"{service} did not answer."}, status=502,
                             content_type="application/problem+json")


def safe_to_repeat(request: web.Request) -> bool:
    return request.method in ("GET", "HEAD", "OPTIONS", "PUT", "DELETE") or (
        "Idempotency-Key" in request.headers)


async def forward(request: web.Request, upstream: str, headers: dict[str, str], body: bytes
                  ) -> web.Response:
    async with request.app[SESSION].request(
        request.method, upstream + request.path_qs, headers=headers, data=body,
        allow_redirects=False,
    ) as answer:
        payload = await answer.read()
        response = web.Response(status=answer.status, body=payload)
        for key, value in answer.headers.items():
            if key.lower() not in HOP_BY_HOP:
                response.headers.add(key, value)
        return response


def create_gateway(upstreams: dict[str, Sequence[str]]) -> web.Application:
    app = web.Application(client_max_size=1024 * 1024)
    app[UPSTREAMS] = {service: itertools.cycle(range(len(urls))) for service, urls in upstreams.items()}
    app[UPSTREAM_LISTS] = {service: list(urls) for service, urls in upstreams.items()}
    app.cleanup_ctx.append(_session)
    app.router.add_route("*", "/{tail:.*}", proxy)
    return app


async def _session(app: web.Application) -> AsyncIterator[None]:
    # A connection per request: a pooled one to a replica that is stopping could be cut under a
    # request, while a fresh one is simply refused and the next replica takes the request.
    connector = aiohttp.TCPConnector(force_close=True)
    async with aiohttp.ClientSession(auto_decompress=False, connector=connector) as session:
        app[SESSION] = session
        yield
