-- Plans, participants, goals, activities, comments, calendar, assessments, the access log,
-- and the plans service's own copy of auth's users.

-- Fed by user.created and user.updated; the only source of names, e-mail and phone in answers.
create table users (
    id uuid primary key,
    display_name text not null,
    email text,
    phone text,
    -- When the event this row reflects occurred, so that an older event arriving late changes nothing.
    source_occurred_at timestamptz not null,
    source_event_id uuid not null,
    updated_at timestamptz not null default now()
);

create table plans (
    id uuid primary key,
    title text not null,
    owner_id uuid not null,
    created_by uuid not null,
    created_at timestamptz not null default now(),
    constraint plans_owner_fkey foreign key (owner_id) references users (id)
);

create table participants (
    plan_id uuid not null,
    user_id uuid not null,
    role text not null,
    -- clock_timestamp, so that the owner and coordinator added in one transaction keep their order.
    added_at timestamptz not null default clock_timestamp(),
    added_by uuid,
    constraint participants_pkey primary key (plan_id, user_id),
    constraint participants_plan_fkey foreign key (plan_id) references plans (id) on delete cascade,
    constraint participants_user_fkey foreign key (user_id) references users (id),
    constraint participants_role_check check (role in ('owner', 'coordinator', 'participant'))
);
create unique index participants_one_owner_key on participants (plan_id) where role = 'owner';
-- GET /v1/plans: the caller's plans, the most recently joined first.
create index participants_user_added_idx on participants (user_id, added_at desc, plan_id desc);
-- GET /v1/plans/{id}/participants, in the order they joined (and the home page's coordinator).
create index participants_plan_added_idx on participants (plan_id, added_at, user_id);

create table goals (
    id uuid primary key,
    plan_id uuid not null,
    title text not null,
    description text not null default '',
    status text not null default 'not_started',
    created_at timestamptz not null default now(),
    updated_at timestamptz not null default now(),
    constraint goals_plan_fkey foreign key (plan_id) references plans (id) on delete cascade,
    constraint goals_id_plan_key unique (id, plan_id),
    constraint goals_status_check
        check (status in ('not_started', 'in_progress', 'completed', 'cancelled'))
);
create index goals_plan_created_idx on goals (plan_id, created_at, id);

create table activities (
    id uuid primary key,
    plan_id uuid not null,
    goal_id uuid not null,
    title text not null,
    description text not null default '',
    due_date date,
    responsible_id uuid,
    status text not null default 'not_started',
    created_at timestamptz not null default now(),
    updated_at timestamptz not null default now(),
    -- The goal must be in the same plan as the activity.
    constraint activities_goal_fkey foreign key (goal_id, plan_id)
        references goals (id, plan_id) on delete cascade,
    constraint activities_responsible_fkey foreign key (responsible_id) references users (id),
    constraint activities_id_plan_key unique (id, plan_id),
    constraint activities_status_check
        check (status in ('not_started', 'in_progress', 'completed', 'cancelled'))
);
create index activities_goal_created_idx on activities (goal_id, created_at, id);

-- Comments and status updates on a goal or an activity (exactly one of them).
create table comments (
    id uuid primary key,
    plan_id uuid not null,
    goal_id uuid,
    activity_id uuid,
    author_id uuid not null,
    text text not null,
    status text,
    created_at timestamptz not null default now(),
    constraint comments_plan_fkey foreign key (plan_id) references plans (id) on delete cascade,
    -- The goal or activity must be in the same plan as the comment.
    constraint comments_goal_fkey foreign key (goal_id, plan_id)
        references goals (id, plan_id) on delete cascade,
    constraint comments_activity_fkey foreign key (activity_id, plan_id)
        references activities (id, plan_id) on delete cascade,
    constraint comments_author_fkey foreign key (author_id) references users (id),
    constraint comments_target_check check (num_nonnulls(goal_id, activity_id) = 1),
    constraint comments_status_check
        check (status in ('not_started', 'in_progress', 'completed', 'cancelled'))
);
create index comments_goal_created_idx on comments (goal_id, created_at, id) where goal_id is not null;
create index comments_activity_created_idx on comments (activity_id, created_at, id)
    where activity_id is not null;

create table calendar_events (
    id uuid primary key,
    plan_id uuid not null,
    title text not null,
    starts_at timestamptz not null,
    ends_at timestamptz not null,
    location text,
    description text,
    created_by uuid not null,
    created_at timestamptz not null default now(),
    updated_at timestamptz not null default now(),
    constraint calendar_events_plan_fkey foreign key (plan_id) references plans (id) on delete cascade,
    constraint calendar_events_time_check check (ends_at > starts_at)
);
-- GET /v1/plans/{id}/events (by start, within a range) and the home page's upcoming events.
create index calendar_events_plan_starts_idx on calendar_events (plan_id, starts_at, id);
-- Events not yet ended (the home page) or ending after a range's start, without scanning the past.
create index calendar_events_plan_ends_idx on calendar_events (plan_id, ends_at);

-- Kartlegging: written assessments of the person's situation and needs.
create table assessments (
    id uuid primary key,
    plan_id uuid not null,
    title text not null,
    text text not null,
    author_id uuid not null,
    created_at timestamptz not null default now(),
    updated_at timestamptz not null default now(),
    constraint assessments_plan_fkey foreign key (plan_id) references plans (id) on delete cascade,
    constraint assessments_author_fkey foreign key (author_id) references users (id)
);
create index assessments_plan_created_idx on assessments (plan_id, created_at desc, id desc);

-- Every read of a plan's content: who, what, when. Written in the same statement as the read.
create table access_log (
    id bigint generated always as identity primary key,
    plan_id uuid not null,
    user_id uuid not null,
    action text not null,
    resource text not null,
    at timestamptz not null default now(),
    constraint access_log_plan_fkey foreign key (plan_id) references plans (id) on delete cascade
);
create index access_log_plan_at_idx on access_log (plan_id, at desc, id desc);
