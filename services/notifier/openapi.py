"""The notifier's OpenAPI document: for now only the operational routes every service has."""

from __future__ import annotations

from typing import Any


def _json(schema_ref: str, description: str) -> dict[str, Any]:
    return {"description": description,
            "content": {"application/json": {"schema": {"$ref": f"#/components/schemas/{schema_ref}"}}}}


def document() -> dict[str, Any]:
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "Samhandling notifier",
            "version": "0.1.0",
            "description": (
                "Delivers one-time codes by e-mail or SMS from `otp.requested` events and keeps a "
                "projection of users' contact details from `user.created` / `user.updated`. It has no "
                "public API yet; `/v1/notifications` is reserved for it."
            ),
        },
        "paths": {
            "/healthz": {"get": {
                "summary": "The process is up",
                "operationId": "healthz",
                "tags": ["operations"],
                "responses": {"200": _json("Health", "Up")},
            }},
            "/readyz": {"get": {
                "summary": "The database and the broker are reachable and the service takes work",
                "operationId": "readyz",
                "tags": ["operations"],
                "responses": {"200": _json("Readiness", "Ready"),
                              "503": _json("Readiness", "Not ready; `checks` says what is missing")},
            }},
            "/metrics": {"get": {
                "summary": "Prometheus metrics",
                "description": "Besides the common ones: `notifier_deliveries_total`, "
                               "`notifier_delivery_attempts_total` and `notifier_otp_delivery_seconds`.",
                "operationId": "metrics",
                "tags": ["operations"],
                "responses": {"200": {"description": "Prometheus text format",
                                      "content": {"text/plain": {"schema": {"type": "string"}}}}},
            }},
            "/openapi.json": {"get": {
                "summary": "This document",
                "operationId": "openapi",
                "tags": ["operations"],
                "responses": {"200": {"description": "OpenAPI 3.1",
                                      "content": {"application/json": {"schema": {"type": "object"}}}}},
            }},
        },
        "components": {"schemas": {
            "Health": {"type": "object", "required": ["status"],
                       "properties": {"status": {"type": "string", "const": "ok"}}},
            "Readiness": {
                "type": "object", "required": ["status", "checks"],
                "properties": {
                    "status": {"type": "string", "enum": ["ready", "unavailable"]},
                    "checks": {"type": "object", "additionalProperties": {"type": "boolean"},
                               "description": "database, broker, and accepting (false while stopping)"},
                },
            },
            "Problem": {
                "type": "object", "required": ["type", "title", "status", "detail"],
                "description": "RFC 9457 problem details (application/problem+json)",
                "properties": {
                    "type": {"type": "string", "format": "uri"},
                    "title": {"type": "string"},
                    "status": {"type": "integer"},
                    "detail": {"type": "string"},
                    "errors": {"type": "array", "items": {
                        "type": "object", "required": ["field", "message"],
                        "properties": {"field": {"type": "string"}, "message": {"type": "string"}}}},
                },
            },
        }},
    }
