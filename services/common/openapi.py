"""Building a service's OpenAPI 3.1 document from its routes and pydantic shapes."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from pydantic import BaseModel

PROBLEM_SCHEMA = {
    "type": "object",
    "required": ["type", "title", "status", "detail"],
    "properties": {
        "type": {"type": "string"},
        "title": {"type": "string"},
        "status": {"type": "integer"},
        "detail": {"type": "string"},
        "errors": {
            "type": "array",
            "items": {"type": "object", "properties": {"field": {"type": "string"},
                                                       "message": {"type": "string"}}},
        },
    },
}
ERROR_TEXT = {
    400: "Malformed JSON",
    401: "No or bad token",
    403: "Not allowed",
    404: "Absent, or not visible to the caller",
    409: "Conflict",
    413: "Body too large",
    422: "Invalid fields",
    429: "Too many attempts (see Retry-After)",
}


@dataclass(frozen=True)
class Op:
    method: str
    path: str
    summary: str
    ok: int = 200
    response: type[BaseModel] | dict[str, Any] | None = None
    request: type[BaseModel] | None = None
    errors: tuple[int, ...] = ()
    auth: bool = True
    params: tuple[dict[str, Any], ...] = field(default=())


def _schema(shape: type[BaseModel] | dict[str, Any], components: dict[str, Any]) -> dict[str, Any]:
    if isinstance(shape, dict):
        return shape
    schema = shape.model_json_schema(ref_template="#/components/schemas/{model}")
    components.update(schema.pop("$defs", {}))
    components[shape.__name__] = schema
    return {"$ref": f"#/components/schemas/{shape.__name__}"}


def _operation(op: Op, components: dict[str, Any]) -> dict[str, Any]:
    responses: dict[str, Any] = {str(op.ok): {"description": "Success"}}
    if op.response is not None:
        responses[str(op.ok)]["content"] = {
            "application/json": {"schema": _schema(op.response, components)}}
    errors = set(op.errors) | ({401} if op.auth else set()) | ({400, 413, 422} if op.request else set())
    for status in sorted(errors):
        responses[str(status)] = {
            "description": ERROR_TEXT.get(status, "Error"),
            "content": {"application/problem+json": {"schema": {"$ref": "#/components/schemas/Problem"}}},
        }
    operation: dict[str, Any] = {"summary": op.summary, "responses": responses}
    if op.request is not None:
        operation["requestBody"] = {
            "required": True,
            "content": {"application/json": {"schema": _schema(op.request, components)}},
        }
    parameters = [
        {"name": name[1:-1], "in": "path", "required": True, "schema": {"type": "string", "format": "uuid"}}
        for name in op.path.split("/") if name.startswith("{")
    ] + list(op.params)
    if parameters:
        operation["parameters"] = parameters
    operation["security"] = [{"bearer": []}] if op.auth else []
    return operation


def document(title: str, description: str, operations: list[Op]) -> dict[str, Any]:
    components: dict[str, Any] = {"Problem": PROBLEM_SCHEMA}
    paths: dict[str, Any] = {}
    for op in operations:
        paths.setdefault(op.path, {})[op.method.lower()] = _operation(op, components)
    for path in ("/healthz", "/readyz", "/metrics", "/openapi.json"):
        paths[path] = {"get": {"summary": f"Operations: {path}", "security": [],
                               "responses": {"200": {"description": "OK"}}}}
    paths["/readyz"]["get"]["responses"]["503"] = {"description": "Database or broker unreachable"}
    return {
        "openapi": "3.1.0",
        "info": {"title": title, "version": "1.0.0", "description": description},
        "paths": paths,
        "components": {
            "schemas": components,
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer", "bearerFormat": "JWT"}},
        },
    }


def query_param(name: str, description: str, schema: dict[str, Any]) -> dict[str, Any]:
    return {"name": name, "in": "query", "required": False, "description": description, "schema": schema}


IDEMPOTENCY_KEY = {"name": "Idempotency-Key", "in": "header", "required": False,
                   "description": "Same key from the same caller within 24 h replays the first answer",
                   "schema": {"type": "string", "maxLength": 200}}
