-- API access tracking per credential: calls per endpoint per day, and the
-- addresses calls came from. Counted in memory and added here in batches
-- (see backend/usage.rs for the loss window). The SQLite twin of this
-- file has the same number and name.

create table credential_usage (
    credential_id text not null references credentials (id),
    day           bigint not null,   -- days since 1970-01-01 (UTC)
    endpoint      text not null,     -- method and route, e.g. GET /api/v1/me
    calls         bigint not null,
    primary key (credential_id, day, endpoint)
);

create table credential_addresses (
    credential_id text not null references credentials (id),
    ip            text not null,
    last_seen     bigint not null,
    calls         bigint not null,
    primary key (credential_id, ip)
);

create index credential_addresses_recent on credential_addresses (credential_id, last_seen);
