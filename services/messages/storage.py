"""All of the messages service's SQL, one function per query."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime

import asyncpg

from services.common.events import Event

Conn = asyncpg.Connection | asyncpg.Pool


@dataclass(frozen=True)
class NewMessageRow:
    id: uuid.UUID
    plan_id: uuid.UUID
    sender_id: uuid.UUID
    recipient_ids: list[uuid.UUID]
    subject: str
    body: str
    in_reply_to: uuid.UUID | None
    created_at: datetime


# --- sending ---------------------------------------------------------------------------------------

# One statement, so one round trip: checks the sender, every recipient and the replied-to message,
# and only when all pass inserts the message, its recipients and its message.created event.
# The last select says what passed, for the handler to answer with.
INSERT_MESSAGE = """
with sender as (
    select true from plan_members where plan_id = $2 and user_id = $3 and active
),
wanted as (
    select r.id, r.position::smallint as position
    from unnest($4::uuid[]) with ordinality as r (id, position)
),
outsiders as (
    select w.id, w.position from wanted w
    where not exists (select 1 from plan_members m
                      where m.plan_id = $2 and m.user_id = w.id and m.active)
),
parent as (
    select p.thread_id from messages p
    where p.id = $7 and p.plan_id = $2
      and (p.sender_id = $3 or exists (select 1 from message_recipients pr
                                       where pr.message_id = p.id and pr.recipient_id = $3))
),
checks as (
    select exists (select 1 from sender) as sender_ok,
           not exists (select 1 from outsiders) as recipients_ok,
           ($7::uuid is null or exists (select 1 from parent)) as parent_ok
),
message as (
    insert into messages (id, plan_id, thread_id, in_reply_to, sender_id, subject, body, created_at)
    select $1::uuid, $2, coalesce((select thread_id from parent), $1), $7, $3, $5::text, $6::text,
           $8::timestamptz
    from checks where sender_ok and recipients_ok and parent_ok
    returning id, thread_id
),
recipients as (
    insert into message_recipients (message_id, recipient_id, position, plan_id, created_at)
    select message.id, w.id, w.position, $2, $8 from message cross join wanted w
    returning 1
),
event as (
    insert into outbox (event_id, type, payload)
    select $9::uuid, $10::text, $11::jsonb from message
    returning 1
)
select checks.sender_ok, checks.recipients_ok, checks.parent_ok,
       array(select id from outsiders order by position) as outsiders,
       (select thread_id from message) as thread_id,
       (select display_name from users where id = $3) as sender_name,
       array(select (w.id, u.display_name, null::timestamptz)
             from wanted w left join users u on u.id = w.id order by w.position) as recipients
from checks
"""


async def insert_message(conn: Conn, message: NewMessageRow, event: Event) -> asyncpg.Record:
    """Store the message with its recipients and event if every check passes (see INSERT_MESSAGE)."""
    return await conn.fetchrow(
        INSERT_MESSAGE,
        message.id, message.plan_id, message.sender_id, message.recipient_ids, message.subject,
        message.body, message.in_reply_to, message.created_at,
        event.id, event.type, event.to_json(),
    )


# --- reading one -----------------------------------------------------------------------------------

RECIPIENTS_OF_M = (
    "array(select (r.recipient_id, u.display_name, r.read_at) from message_recipients r"
    " left join users u on u.id = r.recipient_id where r.message_id = m.id order by r.position)"
)


async def fetch_message(conn: Conn, message_id: uuid.UUID, viewer_id: uuid.UUID) -> asyncpg.Record | None:
    """The message with its recipients, only when the viewer sent or received it."""
    return await conn.fetchrow(
        "select m.id, m.plan_id, m.thread_id, m.in_reply_to, m.sender_id, su.display_name as sender_name,"
        f" m.subject, m.body, m.created_at, {RECIPIENTS_OF_M} as recipients"
        " from messages m left join users su on su.id = m.sender_id"
        " where m.id = $1 and (m.sender_id = $2 or exists (select 1 from message_recipients x"
        "   where x.message_id = m.id and x.recipient_id = $2))",
        message_id, viewer_id,
    )


MARK_READ = """
with target as (
    select true from message_recipients where message_id = $1 and recipient_id = $2
),
marked as (
    update message_recipients set read_at = $3::timestamptz
    where message_id = $1 and recipient_id = $2 and read_at is null
    returning read_at
),
event as (
    insert into outbox (event_id, type, payload)
    select $4::uuid, $5::text, $6::jsonb from marked
    returning 1
)
select exists (select 1 from target) as is_recipient, exists (select 1 from marked) as marked
"""


async def mark_read(conn: Conn, message_id: uuid.UUID, user_id: uuid.UUID, read_at: datetime,
                    event: Event) -> asyncpg.Record:
    """Mark the message read for this recipient and store `event`, only the first time: a second
    read keeps the first time and emits nothing. A row lock makes two concurrent reads do so too."""
    return await conn.fetchrow(MARK_READ, message_id, user_id, read_at, event.id, event.type,
                               event.to_json())


# --- folders ---------------------------------------------------------------------------------------

@dataclass(frozen=True)
class PageQuery:
    user_id: uuid.UUID
    plan_id: uuid.UUID | None
    unread: bool
    after: tuple[datetime, uuid.UUID] | None
    limit: int


def _page_filters(query: PageQuery, alias: str, id_column: str, unread_sql: str) -> tuple[str, list]:
    """The where-clause fragments (fixed SQL text, values as parameters) for a folder page."""
    clauses, params = [], [query.user_id]
    if query.plan_id is not None:
        params.append(query.plan_id)
        clauses.append(f"{alias}.plan_id = ${len(params)}")
    if query.unread:
        clauses.append(unread_sql)
    if query.after is not None:
        params += list(query.after)
        clauses.append(f"({alias}.created_at, {alias}.{id_column}) < (${len(params) - 1}, ${len(params)})")
    params.append(query.limit)
    return "".join(f" and {c}" for c in clauses), params


async def fetch_inbox_page(conn: Conn, query: PageQuery) -> list[asyncpg.Record]:
    """A page of the user's received messages, newest first, from the recipients' inbox indexes."""
    where, params = _page_filters(query, "r", "message_id", "r.read_at is null")
    return await conn.fetch(
        "select m.id, r.plan_id, m.thread_id, m.in_reply_to, m.sender_id, su.display_name as sender_name,"
        " m.subject, r.created_at, r.read_at"
        " from (select r.message_id, r.plan_id, r.created_at, r.read_at from message_recipients r"
        f"   where r.recipient_id = $1{where}"
        f"   order by r.created_at desc, r.message_id desc limit ${len(params)}) r"
        " join messages m on m.id = r.message_id"
        " left join users su on su.id = m.sender_id"
        " order by r.created_at desc, r.message_id desc",
        *params,
    )


async def fetch_sent_page(conn: Conn, query: PageQuery) -> list[asyncpg.Record]:
    """A page of the user's sent messages, newest first; `unread`: some recipient has not read it."""
    unread = ("exists (select 1 from message_recipients u"
              " where u.message_id = s.id and u.read_at is null)")
    where, params = _page_filters(query, "s", "id", unread)
    return await conn.fetch(
        "select m.id, m.plan_id, m.thread_id, m.in_reply_to, m.sender_id, su.display_name as sender_name,"
        f" m.subject, m.created_at, {RECIPIENTS_OF_M} as recipients"
        " from (select s.id from messages s"
        f"   where s.sender_id = $1{where}"
        f"   order by s.created_at desc, s.id desc limit ${len(params)}) s"
        " join messages m on m.id = s.id"
        " left join users su on su.id = m.sender_id"
        " order by m.created_at desc, m.id desc",
        *params,
    )


async def count_unread(conn: Conn, user_id: uuid.UUID, plan_id: uuid.UUID | None) -> int:
    if plan_id is None:
        return await conn.fetchval(
            "select count(*) from message_recipients where recipient_id = $1 and read_at is null",
            user_id)
    return await conn.fetchval(
        "select count(*) from message_recipients"
        " where recipient_id = $1 and plan_id = $2 and read_at is null",
        user_id, plan_id)


# --- projections of other services' data -----------------------------------------------------------

async def upsert_user(conn: Conn, user_id: uuid.UUID, display_name: str, occurred_at: datetime,
                      event_id: str) -> bool:
    """Store the name unless what is stored comes from a later event; True if it was written."""
    written = await conn.fetchval(
        "insert into users (id, display_name, source_occurred_at, source_event_id)"
        " values ($1, $2, $3, $4)"
        " on conflict (id) do update set display_name = excluded.display_name,"
        " source_occurred_at = excluded.source_occurred_at,"
        " source_event_id = excluded.source_event_id, updated_at = now()"
        " where users.source_occurred_at <= excluded.source_occurred_at"
        " returning true",
        user_id, display_name, occurred_at, event_id,
    )
    return bool(written)


async def upsert_member(conn: Conn, plan_id: uuid.UUID, user_id: uuid.UUID, role: str | None,
                        active: bool, occurred_at: datetime, event_id: str) -> bool:
    """Record that the user joined (active) or left the plan, unless a later event already said
    otherwise; True if it was written."""
    written = await conn.fetchval(
        "insert into plan_members (plan_id, user_id, role, active, source_occurred_at, source_event_id)"
        " values ($1, $2, $3, $4, $5, $6)"
        " on conflict (plan_id, user_id) do update set"
        " role = coalesce(excluded.role, plan_members.role), active = excluded.active,"
        " source_occurred_at = excluded.source_occurred_at,"
        " source_event_id = excluded.source_event_id, updated_at = now()"
        " where plan_members.source_occurred_at <= excluded.source_occurred_at"
        " returning true",
        plan_id, user_id, role, active, occurred_at, event_id,
    )
    return bool(written)
