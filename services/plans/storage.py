"""All of plans' SQL, one function per query. Reads of plan content check membership and write
the access log in the same statement, so a read is one round trip."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import date, datetime
from typing import Any, Literal

import asyncpg

from services.plans.domain import UserCopy

Conn = asyncpg.Connection | asyncpg.Pool
After = tuple[datetime, Any]
Target = Literal["goal", "activity"]

# The caller's ($2) role in the plan ($1); no row when they are not a participant.
ACCESS = "access as (select role from participants where plan_id = $1 and user_id = $2)"
# The access-log row for this read ($3 names the resource), written only if `source` has a row.
LOGGED = ("logged as (insert into access_log (plan_id, user_id, action, resource)"
          " select $1, $2, 'read', $3 from {source})")

ACTIVITY_JSON = (
    "json_build_object('id', a.id, 'goal_id', a.goal_id, 'title', a.title,"
    " 'description', a.description, 'due_date', a.due_date,"
    " 'responsible', case when a.responsible_id is null then null"
    "   else json_build_object('id', a.responsible_id, 'display_name', ru.display_name) end,"
    " 'status', a.status)"
)
ACTIVITIES_OF_GOAL = (
    f"(select coalesce(json_agg({ACTIVITY_JSON} order by a.created_at, a.id), '[]'::json)"
    " from activities a left join users ru on ru.id = a.responsible_id where a.goal_id = g.id)"
)


def _assignments(changes: dict[str, Any], first: int) -> str:
    """`col = $n, ...` for a PATCH; the names come from the request schema's fields only."""
    return ", ".join(f"{name} = ${i}" for i, name in enumerate(changes, start=first))


# --- the user projection ----------------------------------------------------------------------

async def upsert_user(conn: Conn, user: UserCopy, occurred_at: datetime, event_id: str) -> bool:
    """Store the user unless what is stored comes from a later event; True if it was written."""
    written = await conn.fetchval(
        "insert into users (id, display_name, email, phone, source_occurred_at, source_event_id)"
        " values ($1, $2, $3, $4, $5, $6)"
        " on conflict (id) do update set display_name = excluded.display_name,"
        " email = excluded.email, phone = excluded.phone,"
        " source_occurred_at = excluded.source_occurred_at,"
        " source_event_id = excluded.source_event_id, updated_at = now()"
        " where users.source_occurred_at <= excluded.source_occurred_at"
        " returning true",
        user.user_id, user.display_name, user.email, user.phone, occurred_at, event_id,
    )
    return bool(written)


async def fetch_users(conn: Conn, user_ids: Sequence[uuid.UUID]) -> dict[uuid.UUID, asyncpg.Record]:
    rows = await conn.fetch("select id, display_name from users where id = any($1::uuid[])",
                            list(user_ids))
    return {row["id"]: row for row in rows}


# --- plans and membership ---------------------------------------------------------------------

async def insert_plan(conn: Conn, plan_id: uuid.UUID, title: str, owner_id: uuid.UUID,
                      created_by: uuid.UUID) -> asyncpg.Record:
    return await conn.fetchrow(
        "insert into plans (id, title, owner_id, created_by) values ($1, $2, $3, $4)"
        " returning id, title, owner_id, created_at",
        plan_id, title, owner_id, created_by,
    )


async def lock_membership(conn: Conn, plan_id: uuid.UUID, user_id: uuid.UUID) -> str | None:
    """The caller's role, locked so that their removal waits until this transaction ends."""
    return await conn.fetchval(
        "select role from participants where plan_id = $1 and user_id = $2 for key share",
        plan_id, user_id,
    )


async def is_participant(conn: Conn, plan_id: uuid.UUID, user_id: uuid.UUID) -> bool:
    return bool(await conn.fetchval(
        "select true from participants where plan_id = $1 and user_id = $2", plan_id, user_id))


async def insert_participant(conn: Conn, plan_id: uuid.UUID, user_id: uuid.UUID, role: str,
                             added_by: uuid.UUID) -> asyncpg.Record | None:
    """The new participant with their contact details; None if the user is unknown here or
    already takes part."""
    return await conn.fetchrow(
        "with m as (insert into participants (plan_id, user_id, role, added_by)"
        "   select $1, u.id, $3, $4 from users u where u.id = $2"
        "   on conflict (plan_id, user_id) do nothing returning user_id, role)"
        " select m.user_id, m.role, u.display_name, u.email, u.phone"
        " from m join users u on u.id = m.user_id",
        plan_id, user_id, role, added_by,
    )


async def lock_for_removal(conn: Conn, plan_id: uuid.UUID, user_ids: Sequence[uuid.UUID],
                           coordinator: str) -> dict[uuid.UUID, str]:
    """Roles of `user_ids` and of every coordinator, locked in one order (so two removals at once
    cannot both take the last coordinator, nor deadlock)."""
    rows = await conn.fetch(
        "select user_id, role from participants"
        " where plan_id = $1 and (user_id = any($2::uuid[]) or role = $3)"
        " order by user_id for update",
        plan_id, list(user_ids), coordinator,
    )
    return {row["user_id"]: row["role"] for row in rows}


async def delete_participant(conn: Conn, plan_id: uuid.UUID, user_id: uuid.UUID) -> None:
    await conn.execute("delete from participants where plan_id = $1 and user_id = $2",
                       plan_id, user_id)


async def fetch_plans_page(conn: Conn, user_id: uuid.UUID, before: After, limit: int
                           ) -> list[asyncpg.Record]:
    """The caller's plans, the most recently joined first (participants_user_added_idx)."""
    return await conn.fetch(
        "select p.id, p.title, p.owner_id, o.display_name as owner_name, m.role as my_role,"
        " m.added_at"
        " from participants m join plans p on p.id = m.plan_id join users o on o.id = p.owner_id"
        " where m.user_id = $1 and (m.added_at, m.plan_id) < ($2::timestamptz, $3::uuid)"
        " order by m.added_at desc, m.plan_id desc limit $4",
        user_id, *before, limit,
    )


async def fetch_home(conn: Conn, plan_id: uuid.UUID, user_id: uuid.UUID, resource: str,
                     coordinator: str, upcoming: int) -> list[asyncpg.Record]:
    """The home page: one row per upcoming event (at least one row); none if not visible."""
    return await conn.fetch(
        f"with {ACCESS}, {LOGGED.format(source='access')}"
        " select p.id, p.title, a.role as my_role, p.owner_id, o.display_name as owner_name,"
        " c.user_id as coordinator_id, cu.display_name as coordinator_name,"
        " e.id as event_id, e.title as event_title, e.starts_at as event_starts_at,"
        " e.ends_at as event_ends_at, e.location as event_location,"
        " e.description as event_description"
        " from access a join plans p on p.id = $1 join users o on o.id = p.owner_id"
        " left join lateral (select user_id from participants"
        "   where plan_id = $1 and role = $4 order by added_at, user_id limit 1) c on true"
        " left join users cu on cu.id = c.user_id"
        " left join lateral (select * from calendar_events"
        "   where plan_id = $1 and ends_at > now() order by starts_at, id limit $5) e on true"
        " order by e.starts_at, e.id",
        plan_id, user_id, resource, coordinator, upcoming,
    )


async def fetch_participants_page(conn: Conn, plan_id: uuid.UUID, user_id: uuid.UUID,
                                  resource: str, after: After, limit: int) -> list[asyncpg.Record]:
    """In the order they joined (participants_plan_added_idx); no rows if not visible."""
    return await conn.fetch(
        f"with {ACCESS}, {LOGGED.format(source='access')}"
        " select a.role as my_role, m.* from access a left join lateral ("
        "   select m.user_id, m.role, m.added_at, u.display_name, u.email, u.phone"
        "   from participants m join users u on u.id = m.user_id"
        "   where m.plan_id = $1 and (m.added_at, m.user_id) > ($4::timestamptz, $5::uuid)"
        "   order by m.added_at, m.user_id limit $6) m on true"
        " order by m.added_at, m.user_id",
        plan_id, user_id, resource, *after, limit,
    )


async def fetch_access_log_page(conn: Conn, plan_id: uuid.UUID, user_id: uuid.UUID,
                                resource: str, readers: Sequence[str], before: After, limit: int
                                ) -> list[asyncpg.Record]:
    """Newest first (access_log_plan_at_idx); entries only for `readers` roles, and this read
    itself logged only for them. No rows if the plan is not visible."""
    return await conn.fetch(
        f"with {ACCESS}, {LOGGED.format(source='access where role = any($4::text[])')}"
        " select a.role as my_role, l.* from access a left join lateral ("
        "   select l.id, l.user_id, u.display_name, l.action, l.resource, l.at"
        "   from access_log l left join users u on u.id = l.user_id"
        "   where l.plan_id = $1 and (l.at, l.id) < ($5::timestamptz, $6::bigint)"
        "   order by l.at desc, l.id desc limit $7) l on a.role = any($4::text[])"
        " order by l.at desc, l.id desc",
        plan_id, user_id, resource, list(readers), *before, limit,
    )


# --- goals and activities ---------------------------------------------------------------------

async def insert_goal(conn: Conn, goal_id: uuid.UUID, plan_id: uuid.UUID, title: str,
                      description: str) -> asyncpg.Record:
    return await conn.fetchrow(
        "insert into goals (id, plan_id, title, description) values ($1, $2, $3, $4)"
        " returning id, title, description, status, '[]'::json as activities",
        goal_id, plan_id, title, description,
    )


async def goal_in_plan(conn: Conn, plan_id: uuid.UUID, goal_id: uuid.UUID) -> bool:
    return bool(await conn.fetchval(
        "select true from goals where id = $1 and plan_id = $2", goal_id, plan_id))


async def update_goal(conn: Conn, plan_id: uuid.UUID, goal_id: uuid.UUID, changes: dict[str, Any]
                      ) -> asyncpg.Record | None:
    return await conn.fetchrow(
        f"with g as (update goals set {_assignments(changes, 3)}, updated_at = now()"
        "   where id = $1 and plan_id = $2 returning *)"
        f" select g.id, g.title, g.description, g.status, {ACTIVITIES_OF_GOAL} as activities from g",
        goal_id, plan_id, *changes.values(),
    )


async def fetch_goals_page(conn: Conn, plan_id: uuid.UUID, user_id: uuid.UUID, resource: str,
                           after: After, limit: int) -> list[asyncpg.Record]:
    """Oldest first, each with its activities (goals_plan_created_idx, activities_goal_created_idx)."""
    return await conn.fetch(
        f"with {ACCESS}, {LOGGED.format(source='access')}"
        " select a.role as my_role, g.* from access a left join lateral ("
        f"   select g.id, g.title, g.description, g.status, g.created_at,"
        f"   {ACTIVITIES_OF_GOAL} as activities from goals g"
        "   where g.plan_id = $1 and (g.created_at, g.id) > ($4::timestamptz, $5::uuid)"
        "   order by g.created_at, g.id limit $6) g on true"
        " order by g.created_at, g.id",
        plan_id, user_id, resource, *after, limit,
    )


async def insert_activity(conn: Conn, activity_id: uuid.UUID, plan_id: uuid.UUID,
                          goal_id: uuid.UUID, title: str, description: str, due_date: date | None,
                          responsible_id: uuid.UUID | None) -> asyncpg.Record | None:
    """The new activity; None when the goal is not in the plan."""
    return await conn.fetchrow(
        "with a as (insert into activities"
        "   (id, plan_id, goal_id, title, description, due_date, responsible_id)"
        "   select $1, g.plan_id, g.id, $4, $5, $6, $7 from goals g where g.id = $3 and g.plan_id = $2"
        "   returning *)"
        " select a.*, ru.display_name as responsible_name"
        " from a left join users ru on ru.id = a.responsible_id",
        activity_id, plan_id, goal_id, title, description, due_date, responsible_id,
    )


async def update_activity(conn: Conn, plan_id: uuid.UUID, activity_id: uuid.UUID,
                          changes: dict[str, Any]) -> asyncpg.Record | None:
    return await conn.fetchrow(
        f"with a as (update activities set {_assignments(changes, 3)}, updated_at = now()"
        "   where id = $1 and plan_id = $2 returning *)"
        " select a.*, ru.display_name as responsible_name"
        " from a left join users ru on ru.id = a.responsible_id",
        activity_id, plan_id, *changes.values(),
    )


# --- comments and status updates --------------------------------------------------------------

TARGET_TABLES = {"goal": ("goals", "goal_id"), "activity": ("activities", "activity_id")}


async def insert_comment(conn: Conn, target: Target, comment_id: uuid.UUID, plan_id: uuid.UUID,
                         target_id: uuid.UUID, author_id: uuid.UUID, text: str, status: str | None
                         ) -> asyncpg.Record | None:
    """The comment, and the goal's or activity's new status when it carries one, in one
    statement; None when the goal or activity is not in the plan."""
    table, column = TARGET_TABLES[target]
    return await conn.fetchrow(
        f"with t as (select id from {table} where id = $3 and plan_id = $2),"
        f" status_set as (update {table} set status = $6, updated_at = now()"
        "   where id in (select id from t) and $6::text is not null),"
        f" c as (insert into comments (id, plan_id, {column}, author_id, text, status)"
        "   select $1, $2, t.id, $4, $5, $6 from t returning *)"
        " select c.id, c.author_id, u.display_name as author_name, c.created_at, c.text, c.status"
        " from c join users u on u.id = c.author_id",
        comment_id, plan_id, target_id, author_id, text, status,
    )


async def fetch_comments_page(conn: Conn, target: Target, plan_id: uuid.UUID, user_id: uuid.UUID,
                              resource: str, target_id: uuid.UUID, after: After, limit: int
                              ) -> list[asyncpg.Record]:
    """Oldest first (comments_<target>_created_idx); no rows if the plan is not visible or the
    goal or activity is not in it."""
    table, column = TARGET_TABLES[target]
    return await conn.fetch(
        f"with {ACCESS}, t as (select x.id from {table} x, access where x.id = $4 and x.plan_id = $1),"
        f" {LOGGED.format(source='t')}"
        " select c.* from t left join lateral ("
        "   select c.id, c.author_id, u.display_name as author_name, c.created_at, c.text, c.status"
        "   from comments c join users u on u.id = c.author_id"
        f"   where c.{column} = t.id and (c.created_at, c.id) > ($5::timestamptz, $6::uuid)"
        "   order by c.created_at, c.id limit $7) c on true"
        " order by c.created_at, c.id",
        plan_id, user_id, resource, target_id, *after, limit,
    )


# --- calendar ---------------------------------------------------------------------------------

EVENT_COLUMNS = "id, title, starts_at, ends_at, location, description"


async def insert_event(conn: Conn, event_id: uuid.UUID, plan_id: uuid.UUID, title: str,
                       starts_at: datetime, ends_at: datetime, location: str | None,
                       description: str | None, created_by: uuid.UUID) -> asyncpg.Record:
    return await conn.fetchrow(
        "insert into calendar_events"
        " (id, plan_id, title, starts_at, ends_at, location, description, created_by)"
        f" values ($1, $2, $3, $4, $5, $6, $7, $8) returning {EVENT_COLUMNS}",
        event_id, plan_id, title, starts_at, ends_at, location, description, created_by,
    )


async def lock_event(conn: Conn, plan_id: uuid.UUID, event_id: uuid.UUID) -> asyncpg.Record | None:
    return await conn.fetchrow(
        f"select {EVENT_COLUMNS} from calendar_events where id = $1 and plan_id = $2 for update",
        event_id, plan_id,
    )


async def update_event(conn: Conn, event_id: uuid.UUID, changes: dict[str, Any]) -> asyncpg.Record:
    return await conn.fetchrow(
        f"update calendar_events set {_assignments(changes, 2)}, updated_at = now()"
        f" where id = $1 returning {EVENT_COLUMNS}",
        event_id, *changes.values(),
    )


async def fetch_events_page(conn: Conn, plan_id: uuid.UUID, user_id: uuid.UUID, resource: str,
                            start: datetime, end: datetime, after: After, limit: int
                            ) -> list[asyncpg.Record]:
    """Events overlapping [start, end), by start (calendar_events_plan_starts_idx)."""
    return await conn.fetch(
        f"with {ACCESS}, {LOGGED.format(source='access')}"
        " select e.* from access a left join lateral ("
        f"   select {EVENT_COLUMNS} from calendar_events"
        "   where plan_id = $1 and starts_at < $5 and ends_at > $4"
        "   and (starts_at, id) > ($6::timestamptz, $7::uuid)"
        "   order by starts_at, id limit $8) e on true"
        " order by e.starts_at, e.id",
        plan_id, user_id, resource, start, end, *after, limit,
    )


# --- assessments ------------------------------------------------------------------------------

async def insert_assessment(conn: Conn, assessment_id: uuid.UUID, plan_id: uuid.UUID, title: str,
                            text: str, author_id: uuid.UUID) -> asyncpg.Record:
    return await conn.fetchrow(
        "with s as (insert into assessments (id, plan_id, title, text, author_id)"
        "   values ($1, $2, $3, $4, $5) returning *)"
        " select s.*, u.display_name as author_name from s join users u on u.id = s.author_id",
        assessment_id, plan_id, title, text, author_id,
    )


async def update_assessment(conn: Conn, plan_id: uuid.UUID, assessment_id: uuid.UUID,
                            changes: dict[str, Any]) -> asyncpg.Record | None:
    return await conn.fetchrow(
        f"with s as (update assessments set {_assignments(changes, 3)}, updated_at = now()"
        "   where id = $1 and plan_id = $2 returning *)"
        " select s.*, u.display_name as author_name from s join users u on u.id = s.author_id",
        assessment_id, plan_id, *changes.values(),
    )


async def fetch_assessments_page(conn: Conn, plan_id: uuid.UUID, user_id: uuid.UUID,
                                 resource: str, before: After, limit: int) -> list[asyncpg.Record]:
    """Newest first (assessments_plan_created_idx)."""
    return await conn.fetch(
        f"with {ACCESS}, {LOGGED.format(source='access')}"
        " select s.* from access a left join lateral ("
        "   select s.id, s.title, s.text, s.author_id, u.display_name as author_name, s.created_at"
        "   from assessments s join users u on u.id = s.author_id"
        "   where s.plan_id = $1 and (s.created_at, s.id) < ($4::timestamptz, $5::uuid)"
        "   order by s.created_at desc, s.id desc limit $6) s on true"
        " order by s.created_at desc, s.id desc",
        plan_id, user_id, resource, *before, limit,
    )
