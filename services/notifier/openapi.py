"""The notifier's OpenAPI document: for now only the operational routes every service has."""

from __future__ import annotations

from typing import Any

from services.common.openapi import document as build_document

DESCRIPTION = (
    "Delivers one-time codes by e-mail or SMS from `otp.requested` events and keeps a projection "
    "of users' contact details from `user.created` / `user.updated`. From `message.created` and "
    "`message.read` it keeps each user's unread messages and sends content-free alerts (\"a new "
    "message is waiting, log in at PUBLIC_URL\"), coalesced per ALERT_WINDOW_SECONDS. It has no "
    "public API yet; `/v1/notifications` is reserved for it. Metrics beyond the common ones: "
    "`notifier_deliveries_total`, `notifier_delivery_attempts_total`, `notifier_otp_delivery_seconds`, "
    "`notifier_message_alerts_total`."
)


def document() -> dict[str, Any]:
    return build_document("Samhandling notifier", DESCRIPTION, [])
