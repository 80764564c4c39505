-- Users, their roles, the general settings, web sessions and sign-in throttling.
-- Timestamps are whole seconds since the Unix epoch (UTC); flags are 0/1.
-- The SQLite twin of this file has the same number and name.

create table users (
    id                   text primary key not null,
    username             text not null,
    username_key         text not null unique,   -- lower-cased username: one account per spelling
    display_name         text not null,
    password_hash        text not null,          -- argon2id PHC string
    active               bigint not null default 1,
    sessions_valid_after bigint not null default 0, -- sessions signed in before this are dead
    created_at           bigint not null,
    updated_at           bigint not null
);

-- A role a user holds, or held: revoked_at is set instead of deleting the row,
-- so the UI can say "revoked from you on DATE".
create table user_roles (
    user_id    text not null references users (id) on delete cascade,
    role       text not null,
    granted_at bigint not null,
    revoked_at bigint,
    primary key (user_id, role)
);

create table settings (
    id                    bigint primary key not null check (id = 1),
    token_idle_secs       bigint not null,
    token_lifetime_secs   bigint not null,
    max_credential_days   bigint not null,
    api_enabled           bigint not null,
    session_idle_secs     bigint not null,
    session_absolute_secs bigint not null,
    updated_at            bigint not null
);

insert into settings values (1, 1200, 3600, 365, 1, 1800, 43200, 0);

create table sessions (
    id          text primary key not null,
    user_id     text,
    data        text not null,
    expiry_date bigint not null
);

create index sessions_user_id on sessions (user_id);
create index sessions_expiry on sessions (expiry_date);

create table throttle (
    key          text primary key not null,
    window_start bigint not null,
    failures     bigint not null
);
