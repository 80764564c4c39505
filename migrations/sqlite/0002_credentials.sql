-- Application credentials: owned by a user, carrying a subset of the owner's
-- roles. The id is the OAuth client_id (a UUID). Only a keyed digest of the
-- secret is stored. Deleted credentials keep their row (deleted_at) so the
-- audit trail and the uniqueness of client ids survive.

create table credentials (
    id                text primary key not null,
    owner_id          text not null references users (id),
    name              text not null,
    name_key          text not null,            -- lower-cased name: unique per owner
    secret_digest     text not null,
    secret_version    bigint not null default 1, -- bumped on regenerate; tokens remember theirs
    expires_at        bigint not null,
    created_at        bigint not null,
    updated_at        bigint not null,
    secret_rotated_at bigint not null,
    last_used_at      bigint,
    deleted_at        bigint
);

create unique index credentials_owner_name on credentials (owner_id, name_key) where deleted_at is null;
create index credentials_owner on credentials (owner_id);

create table credential_roles (
    credential_id text not null references credentials (id) on delete cascade,
    role          text not null,
    primary key (credential_id, role)
);
