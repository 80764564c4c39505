-- Protected APIs (resource servers, RFC 7662 §2.1, RFC 8707): managed by
-- Administrators. The id is the API's client id for introspection (a UUID);
-- only a keyed digest of its secret is stored, as for credentials
-- (0002_credentials.sql). A deleted API keeps its row (deleted_at) so the
-- audit trail and the uniqueness of client ids survive; its audience may be
-- taken again, since deleting it ends the tokens bound to it.
-- Twin of postgres/0011_protected_apis.sql; the two are identical.

create table protected_apis (
    id                text primary key not null,
    name              text not null,
    audience          text not null,             -- absolute URI, the RFC 8707 resource value
    secret_digest     text not null,
    secret_version    bigint not null default 1, -- bumped on regenerate
    created_at        bigint not null,
    updated_at        bigint not null,
    secret_rotated_at bigint not null,
    deleted_at        bigint
);

create unique index protected_apis_audience on protected_apis (audience) where deleted_at is null;

-- The audience a token is bound to (RFC 8707 §2), and the protected API that
-- had it when the token was issued: a later API given the same audience
-- never accepts the token, even one issued as the first API was deleted.
-- Both null: unbound, as before.
alter table tokens add column audience text;
alter table tokens add column protected_api_id text;
