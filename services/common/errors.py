"""RFC 9457 problem details: the one shape every error answer has."""

from __future__ import annotations

import json
from typing import Any

from aiohttp import web

PROBLEM_TYPE_BASE = "https://samhandling.no/problems/"
CONTENT_TYPE = "application/problem+json"

TITLES = {
    400: "Malformed request",
    401: "Not authenticated",
    403: "Not allowed",
    404: "Not found",
    405: "Method not allowed",
    409: "Conflict",
    413: "Request body too large",
    415: "Unsupported media type",
    422: "Invalid request",
    429: "Too many attempts",
    500: "Internal error",
    503: "Service unavailable",
}
SLUGS = {
    400: "malformed-request",
    401: "unauthenticated",
    403: "forbidden",
    404: "not-found",
    405: "method-not-allowed",
    409: "conflict",
    413: "payload-too-large",
    415: "unsupported-media-type",
    422: "validation-error",
    429: "too-many-attempts",
    500: "internal-error",
    503: "unavailable",
}


class Problem(Exception):
    """Raise from a handler to answer with a problem document."""

    def __init__(
        self,
        status: int,
        detail: str,
        *,
        title: str | None = None,
        errors: list[dict[str, str]] | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(detail)
        self.status = status
        self.detail = detail
        self.title = title or TITLES.get(status, "Error")
        self.errors = errors
        self.headers = headers or {}

    def to_response(self) -> web.Response:
        return problem_response(self.status, self.detail, title=self.title, errors=self.errors,
                                headers=self.headers)


def problem_response(
    status: int,
    detail: str,
    *,
    title: str | None = None,
    errors: list[dict[str, str]] | None = None,
    headers: dict[str, str] | None = None,
) -> web.Response:
    body: dict[str, Any] = {
        "type": PROBLEM_TYPE_BASE + SLUGS.get(status, str(status)),
        "title": title or TITLES.get(status, "Error"),
        "status": status,
        "detail": detail,
    }
    if errors is not None:
        body["errors"] = errors
    return web.Response(status=status, text=json.dumps(body), content_type=CONTENT_TYPE,
                        headers=headers)


def field_error(field: str, message: str) -> dict[str, str]:
    return {"field": field, "message": message}


def invalid(field: str, message: str) -> Problem:
    return Problem(422, f"{field}: {message}", errors=[field_error(field, message)])


def not_found(what: str = "resource") -> Problem:
    return Problem(404, f"No such {what}, or you may not see it.")


def unauthorized(detail: str = "A valid access token is required.") -> Problem:
    return Problem(401, detail, headers={"WWW-Authenticate": 'Bearer realm="samhandling"'})


def forbidden(detail: str) -> Problem:
    return Problem(403, detail)


def too_many(retry_after_seconds: int, detail: str) -> Problem:
    return Problem(429, detail, headers={"Retry-After": str(max(1, retry_after_seconds))})
