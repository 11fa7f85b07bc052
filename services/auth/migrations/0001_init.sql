-- Users, their one-time-code challenges, sessions with rotating refresh tokens, and signing keys.
create table users (
    id uuid primary key,
    username text not null,
    password_hash text not null,
    display_name text not null,
    email text,
    phone text,
    address text,
    notify_channel text not null default 'email',
    locale text not null default 'nb',
    roles text[] not null default '{}',
    created_at timestamptz not null default now(),
    updated_at timestamptz not null default now(),
    constraint users_notify_channel_check check (notify_channel in ('sms', 'email', 'none')),
    constraint users_locale_check check (locale in ('nb', 'nn', 'en'))
);
-- Usernames are unique ignoring case, and looked up the same way at login.
create unique index users_username_lower_key on users (lower(username));

-- Failed logins per key: 'user:<lower username>' (whether or not the user exists) or 'ip:<address>'.
create table login_throttle (
    key text primary key,
    failures int not null,
    window_started_at timestamptz not null,
    blocked_until timestamptz
);

create table otp_challenges (
    id uuid primary key,
    user_id uuid not null references users (id) on delete cascade,
    channel text not null,
    code_hash bytea not null,
    expires_at timestamptz not null,
    failed_attempts int not null default 0,
    sends int not null default 1,
    last_sent_at timestamptz not null default now(),
    used_at timestamptz,
    created_at timestamptz not null default now()
);
create index otp_challenges_created_at_idx on otp_challenges (created_at);

create table sessions (
    id uuid primary key,
    user_id uuid not null references users (id) on delete cascade,
    created_at timestamptz not null default now(),
    ended_at timestamptz,
    end_reason text
);
create index sessions_user_active_idx on sessions (user_id) where ended_at is null;

create table refresh_tokens (
    token_hash bytea primary key,
    session_id uuid not null references sessions (id) on delete cascade,
    expires_at timestamptz not null,
    spent_at timestamptz,
    created_at timestamptz not null default now()
);
create index refresh_tokens_session_idx on refresh_tokens (session_id);
create index refresh_tokens_expires_at_idx on refresh_tokens (expires_at);

-- Ed25519 keys shared by every replica. The newest unretired key signs; retired keys stay
-- published until every token they signed has expired.
create table signing_keys (
    kid text primary key,
    private_key bytea not null,
    public_jwk jsonb not null,
    created_at timestamptz not null default now(),
    retired_at timestamptz
);
