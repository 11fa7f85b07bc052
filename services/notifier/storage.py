"""All of the notifier's SQL: contacts, deliveries with their lease, and the delivery log."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime

import asyncpg

from services.notifier.domain import Contact

Executor = asyncpg.Connection | asyncpg.Pool


@dataclass(frozen=True)
class NewDelivery:
    id: uuid.UUID
    event_id: str
    user_id: uuid.UUID
    kind: str
    channel: str
    destination_masked: str
    deadline: datetime


# --- contacts -------------------------------------------------------------------------------------

async def upsert_contact(conn: Executor, contact: Contact, occurred_at: datetime, event_id: str) -> bool:
    """Store the contact unless what is stored comes from a later event; True if it was written."""
    written = await conn.fetchval(
        "insert into contacts (user_id, display_name, email, phone, notify_channel, locale,"
        " source_occurred_at, source_event_id)"
        " values ($1, $2, $3, $4, $5, $6, $7, $8)"
        " on conflict (user_id) do update set display_name = excluded.display_name,"
        " email = excluded.email, phone = excluded.phone, notify_channel = excluded.notify_channel,"
        " locale = excluded.locale, source_occurred_at = excluded.source_occurred_at,"
        " source_event_id = excluded.source_event_id, updated_at = now()"
        " where contacts.source_occurred_at <= excluded.source_occurred_at"
        " returning true",
        contact.user_id, contact.display_name, contact.email, contact.phone,
        contact.notify_channel, contact.locale, occurred_at, event_id,
    )
    return bool(written)


async def fetch_contact_locale(conn: Executor, user_id: uuid.UUID) -> str | None:
    return await conn.fetchval("select locale from contacts where user_id = $1", user_id)


# --- deliveries -----------------------------------------------------------------------------------

async def acquire_delivery(
    conn: Executor, delivery: NewDelivery, owner: uuid.UUID, lease_seconds: float
) -> uuid.UUID | None:
    """Create the delivery, or take over a pending one whose lease has lapsed; the id if this
    owner now holds it, None if another holds it or it is finished."""
    return await conn.fetchval(
        "insert into deliveries (id, event_id, user_id, kind, channel, destination_masked, deadline,"
        " lease_owner, lease_until)"
        " values ($1, $2, $3, $4, $5, $6, $7, $8, now() + make_interval(secs => $9))"
        " on conflict (event_id, user_id) do update"
        " set lease_owner = excluded.lease_owner, lease_until = excluded.lease_until"
        " where deliveries.status = 'pending'"
        " and (deliveries.lease_until is null or deliveries.lease_until < now())"
        " returning id",
        delivery.id, delivery.event_id, delivery.user_id, delivery.kind, delivery.channel,
        delivery.destination_masked, delivery.deadline, owner, lease_seconds,
    )


async def fetch_delivery_status(conn: Executor, event_id: str, user_id: uuid.UUID) -> str | None:
    return await conn.fetchval(
        "select status from deliveries where event_id = $1 and user_id = $2", event_id, user_id
    )


async def renew_lease(conn: Executor, delivery_id: uuid.UUID, owner: uuid.UUID, lease_seconds: float) -> bool:
    renewed = await conn.fetchval(
        "update deliveries set lease_until = now() + make_interval(secs => $3)"
        " where id = $1 and lease_owner = $2 and status = 'pending' returning true",
        delivery_id, owner, lease_seconds,
    )
    return bool(renewed)


async def release_lease(conn: Executor, delivery_id: uuid.UUID, owner: uuid.UUID) -> None:
    await conn.execute(
        "update deliveries set lease_owner = null, lease_until = null"
        " where id = $1 and lease_owner = $2",
        delivery_id, owner,
    )


async def insert_attempt(
    conn: Executor,
    delivery_id: uuid.UUID,
    transport: str,
    outcome: str,
    error: str | None,
    status_code: int | None,
    started_at: datetime,
) -> int:
    """Log one attempt (copying the delivery's identifying columns); returns its number."""
    return await conn.fetchval(
        "with d as (update deliveries set attempts = attempts + 1 where id = $1"
        " returning id, event_id, kind, channel, destination_masked, attempts)"
        " insert into delivery_attempts (delivery_id, event_id, kind, channel, transport,"
        " destination_masked, attempt, outcome, error, status_code, started_at)"
        " select d.id, d.event_id, d.kind, d.channel, $2, d.destination_masked, d.attempts,"
        " $3, $4, $5, $6 from d"
        " returning attempt",
        delivery_id, transport, outcome, error, status_code, started_at,
    )


async def finish_delivery(conn: Executor, delivery_id: uuid.UUID, status: str) -> None:
    await conn.execute(
        "update deliveries set status = $2, lease_owner = null, lease_until = null,"
        " finished_at = now() where id = $1 and status = 'pending'",
        delivery_id, status,
    )

