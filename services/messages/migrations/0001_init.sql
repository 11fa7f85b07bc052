-- Messages and their recipients with read state, and the service's own copies of users' names
-- and of plans' participants (fed by events; the service never asks auth or plans per request).

-- Display names, from user.created and user.updated.
create table users (
    id uuid primary key,
    display_name text not null,
    -- When the event this row reflects occurred, so that an older event arriving late changes nothing.
    source_occurred_at timestamptz not null,
    source_event_id uuid not null,
    updated_at timestamptz not null default now()
);

-- Who takes part in which plan, from plan.created and plan.participant_added / _removed.
-- A removal keeps its row (active = false) with the time it occurred, so that an older
-- "added" handled after it cannot bring the participant back.
create table plan_members (
    plan_id uuid not null,
    user_id uuid not null,
    role text,
    active boolean not null,
    source_occurred_at timestamptz not null,
    source_event_id uuid not null,
    updated_at timestamptz not null default now(),
    constraint plan_members_pkey primary key (plan_id, user_id)
);

create table messages (
    id uuid primary key,
    plan_id uuid not null,
    -- The id of the thread's first message (its own id for a message that starts a thread).
    thread_id uuid not null,
    in_reply_to uuid,
    sender_id uuid not null,
    subject text not null,
    body text not null,
    created_at timestamptz not null,
    constraint messages_in_reply_to_fkey foreign key (in_reply_to) references messages (id)
);
-- The sent folder, newest first, with and without a plan filter.
create index messages_sender_created_idx on messages (sender_id, created_at desc, id desc);
create index messages_sender_plan_created_idx
    on messages (sender_id, plan_id, created_at desc, id desc);

-- One row per recipient, carrying what the inbox sorts and filters by (plan, time, read state),
-- so that an inbox page is read from one index and joins only that page's messages.
create table message_recipients (
    message_id uuid not null,
    recipient_id uuid not null,
    -- The recipient's place in the sender's list, to answer in the order they were given.
    position smallint not null,
    plan_id uuid not null,
    created_at timestamptz not null,
    read_at timestamptz,
    constraint message_recipients_pkey primary key (message_id, recipient_id),
    constraint message_recipients_message_fkey foreign key (message_id) references messages (id)
);
-- The inbox, newest first: all, one plan's, unread, one plan's unread (these two also count unread).
create index message_recipients_inbox_idx
    on message_recipients (recipient_id, created_at desc, message_id desc);
create index message_recipients_plan_inbox_idx
    on message_recipients (recipient_id, plan_id, created_at desc, message_id desc);
create index message_recipients_unread_idx
    on message_recipients (recipient_id, created_at desc, message_id desc) where read_at is null;
create index message_recipients_plan_unread_idx
    on message_recipients (recipient_id, plan_id, created_at desc, message_id desc)
    where read_at is null;
