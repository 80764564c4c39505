-- Access tokens: opaque, stored only as a keyed digest. A token carries the
-- roles (scope) it was issued with; it is checked against the live state of
-- its credential and owner on every use. Revoked tokens keep their row, so a
-- digest is never reused (STANDARDS LC-06).

create table tokens (
    token_digest   text primary key not null,
    credential_id  text not null references credentials (id),
    roles          text not null,            -- space-separated role slugs
    issued_at      bigint not null,
    expires_at     bigint not null,
    last_used_at   bigint not null,
    secret_version bigint not null,          -- the credential's secret_version at issuance
    revoked_at     bigint,
    revoked_reason text
);

create index tokens_credential on tokens (credential_id);
create index tokens_expires on tokens (expires_at);
