-- Who to notify and how: the notifier's own copy of auth's users, fed by user.created and user.updated.
create table contacts (
    user_id uuid primary key,
    display_name text,
    email text,
    phone text,
    notify_channel text,
    locale text,
    -- When the event this row reflects occurred, so that an older event arriving late changes nothing.
    source_occurred_at timestamptz not null,
    source_event_id uuid not null,
    updated_at timestamptz not null default now()
);

-- One row per notification to hand over (a one-time code now, message alerts later).
-- Never the text, never a code, and the address only masked.
create table deliveries (
    id uuid primary key,
    event_id uuid not null,
    user_id uuid not null,
    kind text not null,
    channel text not null,
    destination_masked text not null,
    status text not null default 'pending',
    attempts int not null default 0,
    -- Not attempted at or after this moment (a code's expiry).
    deadline timestamptz not null,
    -- The consumer now delivering it: a second copy of the event waits instead of sending twice,
    -- and takes over if the lease lapses because its holder died.
    lease_owner uuid,
    lease_until timestamptz,
    created_at timestamptz not null default now(),
    finished_at timestamptz,
    constraint deliveries_event_user_key unique (event_id, user_id),
    constraint deliveries_status_check check (status in ('pending', 'sent', 'failed', 'expired')),
    constraint deliveries_channel_check check (channel in ('sms', 'email'))
);
create index deliveries_created_at_idx on deliveries (created_at);

-- The delivery log: every attempt and its outcome, for operations.
create table delivery_attempts (
    id bigserial primary key,
    delivery_id uuid not null,
    event_id uuid not null,
    kind text not null,
    channel text not null,
    transport text not null,
    destination_masked text not null,
    attempt int not null,
    outcome text not null,
    error text,
    status_code int,
    started_at timestamptz not null,
    finished_at timestamptz not null default now(),
    constraint delivery_attempts_delivery_fkey foreign key (delivery_id) references deliveries (id),
    constraint delivery_attempts_delivery_attempt_key unique (delivery_id, attempt),
    constraint delivery_attempts_outcome_check
        check (outcome in ('sent', 'temporary_failure', 'permanent_failure', 'expired'))
);
create index delivery_attempts_event_id_idx on delivery_attempts (event_id);
create index delivery_attempts_finished_at_idx on delivery_attempts (finished_at);
