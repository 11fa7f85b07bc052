-- Events waiting to be relayed to RabbitMQ; written in the same transaction as the change.
create table outbox (
    id bigserial primary key,
    event_id uuid not null,
    type text not null,
    payload jsonb not null,
    created_at timestamptz not null default now()
);

-- Wakes the relay at once instead of waiting for its next poll.
create function outbox_notify() returns trigger language plpgsql as $$
begin
    perform pg_notify('outbox', '');
    return null;
end $$;

create trigger outbox_inserted after insert on outbox
    for each statement execute function outbox_notify();

-- Event ids this service has already handled, so a redelivered event changes nothing.
create table processed_events (
    event_id uuid primary key,
    type text not null,
    processed_at timestamptz not null default now()
);
