"""All of the notifier's SQL: contacts, deliveries with their lease, the delivery log, message alerts."""

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


@dataclass(frozen=True)
class Attempt:
    delivery_id: uuid.UUID
    transport: str
    outcome: str
    error: str | None
    status_code: int | None
    started_at: datetime


async def finish_delivery(conn: Executor, last: Attempt, status: str) -> int:
    """Log the last attempt and close the delivery with `status` (unless it is closed already), in
    one statement; returns the attempt's number."""
    return await conn.fetchval(
        "with d as (update deliveries set attempts = attempts + 1,"
        "   status = case when status = 'pending' then $7 else status end,"
        "   lease_owner = case when status = 'pending' then null else lease_owner end,"
        "   lease_until = case when status = 'pending' then null else lease_until end,"
        "   finished_at = case when status = 'pending' then now() else finished_at end"
        "   where id = $1 returning id, event_id, kind, channel, destination_masked, attempts)"
        " insert into delivery_attempts (delivery_id, event_id, kind, channel, transport,"
        " destination_masked, attempt, outcome, error, status_code, started_at)"
        " select d.id, d.event_id, d.kind, d.channel, $2, d.destination_masked, d.attempts,"
        " $3, $4, $5, $6 from d"
        " returning attempt",
        last.delivery_id, last.transport, last.outcome, last.error, last.status_code, last.started_at,
        status,
    )


# --- message alerts -------------------------------------------------------------------------------

# Unread messages of user $1 that no alert has announced yet (received since the last one was taken
# to be sent), not counting message $2.
UNANNOUNCED_UNREAD = (
    "exists (select 1 from unread_messages u join alert_schedules s on s.user_id = u.user_id"
    " where u.user_id = $1 and u.message_id <> $2"
    " and u.received_at > coalesce(s.covered_until, '-infinity'))"
)


async def lock_alert_schedules(conn: asyncpg.Connection, user_ids: list[uuid.UUID]
                               ) -> dict[uuid.UUID, asyncpg.Record]:
    """Each user's schedule row, created if missing and locked (in the order of their ids, the same
    for every caller) until the caller's transaction ends; with the user's contact, if known."""
    rows = await conn.fetch(
        "with locked as (insert into alert_schedules (user_id)"
        "   select u from unnest($1::uuid[]) u order by u"
        "   on conflict (user_id) do update set updated_at = now()"
        "   returning user_id, alert_id, last_alert_at)"
        " select l.user_id, l.alert_id, l.last_alert_at, c.notify_channel, c.email, c.phone"
        " from locked l left join contacts c on c.user_id = l.user_id",
        user_ids)
    return {row["user_id"]: row for row in rows}


async def lock_alert_schedule(conn: asyncpg.Connection, user_id: uuid.UUID) -> asyncpg.Record:
    """The user's schedule row, created if missing and locked until the caller's transaction ends."""
    return await conn.fetchrow(
        "insert into alert_schedules (user_id) values ($1)"
        " on conflict (user_id) do update set updated_at = now()"
        " returning alert_id, last_alert_at",
        user_id)


async def add_unread(conn: Executor, user_ids: list[uuid.UUID], message_id: uuid.UUID
                     ) -> dict[uuid.UUID, asyncpg.Record]:
    """Count the message unread for each user unless they read it already (its message.read came
    first) or it is counted already; per user, `added`, and whether they `had_unread` other messages."""
    rows = await conn.fetch(
        "with r as (select unnest($1::uuid[]) as user_id),"
        " early as (delete from early_reads e using r where e.user_id = r.user_id"
        "   and e.message_id = $2 returning e.user_id),"
        " added as (insert into unread_messages (user_id, message_id, received_at)"
        "   select r.user_id, $2, clock_timestamp() from r"
        "   where r.user_id not in (select user_id from early)"
        "   on conflict (user_id, message_id) do nothing returning user_id)"
        " select r.user_id, r.user_id in (select user_id from added) as added,"
        " exists (select 1 from unread_messages u where u.user_id = r.user_id and u.message_id <> $2)"
        "   as had_unread"
        " from r",
        user_ids, message_id)
    return {row["user_id"]: row for row in rows}


async def remove_unread(conn: Executor, user_id: uuid.UUID, message_id: uuid.UUID) -> bool:
    """The message is read: no longer unread (or, not seen yet, remembered as read); True if the
    user still has unread messages no alert has announced."""
    return await conn.fetchval(
        "with removed as (delete from unread_messages where user_id = $1 and message_id = $2"
        "   returning 1),"
        " early as (insert into early_reads (user_id, message_id)"
        "   select $1, $2 where not exists (select 1 from removed)"
        "   on conflict (user_id, message_id) do nothing returning 1)"
        f" select {UNANNOUNCED_UNREAD}",
        user_id, message_id)


@dataclass(frozen=True)
class PlannedAlert:
    user_id: uuid.UUID
    alert_id: uuid.UUID
    due_at: datetime
    deadline: datetime


async def schedule_alerts(conn: Executor, planned: list[PlannedAlert]) -> None:
    await conn.execute(
        "update alert_schedules s set alert_id = p.alert_id, due_at = p.due_at, deadline = p.deadline,"
        " claimed_until = null, updated_at = now()"
        " from unnest($1::uuid[], $2::uuid[], $3::timestamptz[], $4::timestamptz[])"
        "   as p (user_id, alert_id, due_at, deadline)"
        " where s.user_id = p.user_id",
        [p.user_id for p in planned], [p.alert_id for p in planned], [p.due_at for p in planned],
        [p.deadline for p in planned])


async def cancel_waiting_alert(conn: Executor, user_id: uuid.UUID) -> bool:
    """Drop the alert waiting to be sent (one being sent is left to finish); True if one was."""
    return bool(await conn.fetchval(
        "update alert_schedules set alert_id = null, due_at = null, deadline = null,"
        " updated_at = now()"
        " where user_id = $1 and alert_id is not null"
        " and (claimed_until is null or claimed_until < now())"
        " returning true",
        user_id))


async def claim_due_alerts(conn: Executor, limit: int, claim_seconds: float) -> list[asyncpg.Record]:
    """Take up to `limit` due alerts no replica is sending, with what sending them needs: the
    contact, and whether anything unread is still to be announced. SKIP LOCKED, so that replicas
    polling at once take different ones."""
    return await conn.fetch(
        "with due as (select user_id from alert_schedules"
        "   where alert_id is not null and due_at <= now()"
        "   and (claimed_until is null or claimed_until < now())"
        "   order by due_at limit $1 for update skip locked)"
        " update alert_schedules s set claimed_at = clock_timestamp(),"
        " claimed_until = now() + make_interval(secs => $2)"
        " from due left join contacts c on c.user_id = due.user_id"
        " where s.user_id = due.user_id"
        " returning s.user_id, s.alert_id, s.deadline,"
        " exists (select 1 from unread_messages u where u.user_id = s.user_id"
        "   and u.received_at > coalesce(s.covered_until, '-infinity')) as has_unread,"
        " c.notify_channel, c.email, c.phone, c.locale",
        limit, claim_seconds)


async def renew_alert_claim(conn: Executor, user_id: uuid.UUID, alert_id: uuid.UUID,
                            claim_seconds: float) -> bool:
    renewed = await conn.fetchval(
        "update alert_schedules set claimed_until = now() + make_interval(secs => $3)"
        " where user_id = $1 and alert_id = $2 returning true",
        user_id, alert_id, claim_seconds)
    return bool(renewed)


async def release_alert_claim(conn: Executor, user_id: uuid.UUID, alert_id: uuid.UUID) -> None:
    await conn.execute(
        "update alert_schedules set claimed_until = null where user_id = $1 and alert_id = $2",
        user_id, alert_id)


async def finish_alert(conn: Executor, user_id: uuid.UUID, alert_id: uuid.UUID, alerted: bool,
                       next_alert_id: uuid.UUID, window_seconds: float, horizon_seconds: float
                       ) -> datetime | None:
    """The alert is done with (sent, failed, or not needed after all): what was unread when it was
    taken counts as announced. Messages that came in while it was being sent get the next alert,
    a window from now; its due time, or None."""
    return await conn.fetchval(
        "update alert_schedules s set"
        " last_alert_at = case when $3 then now() else s.last_alert_at end,"
        " covered_until = s.claimed_at,"
        " (alert_id, due_at, deadline) = (select $4::uuid, now() + make_interval(secs => $5),"
        "   now() + make_interval(secs => $5 + $6)"
        "   where exists (select 1 from unread_messages u where u.user_id = s.user_id"
        "     and u.received_at > s.claimed_at)),"
        " claimed_until = null, updated_at = now()"
        " where s.user_id = $1 and s.alert_id = $2"
        " returning s.due_at",
        user_id, alert_id, alerted, next_alert_id, window_seconds, horizon_seconds)


async def prune_early_reads(conn: Executor, older_than_days: int) -> None:
    await conn.execute("delete from early_reads where read_at < now() - make_interval(days => $1)",
                       older_than_days)
