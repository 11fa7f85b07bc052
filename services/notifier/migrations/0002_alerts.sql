-- Message alerts: which messages each user has not read yet, and each user's alert schedule.

-- Received and not yet read, from message.created and message.read (ids only: the notifier never
-- sees a subject or a body).
create table unread_messages (
    user_id uuid not null,
    message_id uuid not null,
    received_at timestamptz not null,
    constraint unread_messages_pkey primary key (user_id, message_id)
);

-- A message.read handled before its message.created (events can be handled out of order):
-- remembered, so that the late message.created does not count the message unread. Pruned after 30 days.
create table early_reads (
    user_id uuid not null,
    message_id uuid not null,
    read_at timestamptz not null default now(),
    constraint early_reads_pkey primary key (user_id, message_id)
);
create index early_reads_read_at_idx on early_reads (read_at);

-- One row per user who has received a message. The row is also the lock that puts one user's
-- message events and alert in order, whichever replica handles them.
create table alert_schedules (
    user_id uuid primary key,
    -- When an alert last reached the user: the next comes at most a window later.
    last_alert_at timestamptz,
    -- Messages received before this were announced by an alert (or one was attempted): only
    -- messages received since, still unread, are worth another.
    covered_until timestamptz,
    -- The alert waiting or being sent, if any: its id is the event_id of its row in deliveries.
    alert_id uuid,
    due_at timestamptz,
    -- Not attempted at or after this moment.
    deadline timestamptz,
    -- A replica took the alert to send at claimed_at, and holds it until claimed_until (renewed
    -- while it retries; another replica takes it over if that lapses).
    claimed_at timestamptz,
    claimed_until timestamptz,
    updated_at timestamptz not null default now(),
    constraint alert_schedules_pending_check check ((alert_id is null) = (due_at is null))
);
-- The alert worker's poll: due alerts, oldest first.
create index alert_schedules_due_idx on alert_schedules (due_at) where alert_id is not null;
