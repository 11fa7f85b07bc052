-- Answers to creating requests that carried an Idempotency-Key, kept for 24 hours.
create table idempotency_keys (
    caller_id text not null,
    key text not null,
    fingerprint bytea not null,
    status int,
    body jsonb,
    created_at timestamptz not null default now(),
    constraint idempotency_keys_pkey primary key (caller_id, key)
);
create index idempotency_keys_created_at_idx on idempotency_keys (created_at);
