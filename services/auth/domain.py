"""Auth's rules, with no I/O: codes, channels, throttling keys, token claims, user views."""

from __future__ import annotations

import hashlib
import hmac
import secrets
import uuid
from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import Any

import pyotp

from services.common.events import iso

USER_FIELDS = ("display_name", "email", "phone", "address", "notify_channel", "locale")


def new_code() -> str:
    """A fresh 6-digit one-time code from a random secret used once."""
    return pyotp.HOTP(pyotp.random_base32(), digits=6).at(0)


def hash_code(challenge_id: uuid.UUID, code: str) -> bytes:
    return hashlib.sha256(challenge_id.bytes + code.encode()).digest()


def code_matches(challenge_id: uuid.UUID, code: str, stored_hash: bytes) -> bool:
    return hmac.compare_digest(hash_code(challenge_id, code), stored_hash)


def login_channel(user: Mapping[str, Any]) -> tuple[str, str]:
    """Where the code goes: SMS when the user chose it and has a phone, else e-mail."""
    if user["notify_channel"] == "sms" and user["phone"]:
        return "sms", user["phone"]
    return "email", user["email"]


def challenge_is_open(challenge: Mapping[str, Any], now: datetime, max_attempts: int) -> bool:
    return (
        challenge["used_at"] is None
        and challenge["expires_at"] > now
        and challenge["failed_attempts"] < max_attempts
    )


def resend_wait_seconds(challenge: Mapping[str, Any], now: datetime, interval: int) -> int:
    """Seconds until a resend is allowed (0: now)."""
    ready_at = challenge["last_sent_at"] + timedelta(seconds=interval)
    return max(0, int((ready_at - now).total_seconds() + 0.999))


def throttle_keys(username: str, address: str) -> tuple[str, str]:
    # Keyed by the name typed, not the user id, so an unknown username throttles the same way
    # and a 429 tells nothing about whether the account exists.
    return f"user:{username.strip().lower()}", f"ip:{address}"


def client_address(remote: str | None, forwarded_for: str | None, trusted_hops: int) -> str:
    """The client's address; with N trusted proxies in front, the Nth from the right of
    X-Forwarded-For (entries further left can be forged by the client)."""
    if trusted_hops > 0 and forwarded_for:
        hops = [part.strip() for part in forwarded_for.split(",") if part.strip()]
        if len(hops) >= trusted_hops:
            return hops[-trusted_hops]
    return remote or "unknown"


def new_refresh_token() -> str:
    return secrets.token_urlsafe(32)


def hash_refresh_token(token: str) -> bytes:
    return hashlib.sha256(token.encode()).digest()


def access_claims(
    issuer: str, user_id: uuid.UUID, session_id: uuid.UUID, roles: list[str], now: datetime,
    ttl_seconds: int,
) -> dict[str, Any]:
    issued = int(now.timestamp())
    return {
        "iss": issuer,
        "sub": str(user_id),
        "sid": str(session_id),
        "roles": list(roles),
        "iat": issued,
        "exp": issued + ttl_seconds,
        "jti": uuid.uuid4().hex,
    }


def user_view(user: Mapping[str, Any]) -> dict[str, Any]:
    return {
        "id": str(user["id"]),
        "username": user["username"],
        "display_name": user["display_name"],
        "email": user["email"],
        "phone": user["phone"],
        "address": user["address"],
        "notify_channel": user["notify_channel"],
        "locale": user["locale"],
        "roles": list(user["roles"]),
    }


def user_card(user: Mapping[str, Any]) -> dict[str, Any]:
    return {"id": str(user["id"]), "display_name": user["display_name"]}


def user_event_data(user: Mapping[str, Any]) -> dict[str, Any]:
    return {
        "user_id": str(user["id"]),
        "display_name": user["display_name"],
        "email": user["email"],
        "phone": user["phone"],
        "notify_channel": user["notify_channel"],
        "locale": user["locale"],
    }


def otp_event_data(challenge_id: uuid.UUID, user_id: uuid.UUID, channel: str, destination: str,
                   code: str, expires_at: datetime) -> dict[str, Any]:
    return {
        "challenge_id": str(challenge_id),
        "user_id": str(user_id),
        "channel": channel,
        "destination": destination,
        "code": code,
        "expires_at": iso(expires_at),
    }


def channel_problem(notify_channel: str, phone: str | None) -> str | None:
    """Why this channel cannot be used with these contact details, or None when it can."""
    if notify_channel == "sms" and not phone:
        return "sms needs a phone number"
    return None
