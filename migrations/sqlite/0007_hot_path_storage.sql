-- Fewer B-trees per issued token (ADR 0003; docs/benchmarks.md). Every
-- issued token inserts a token row and a `token.issued` audit row, and each
-- B-tree an insert touches costs a WAL page at commit.
--
-- * tokens: stored in the order of their key (WITHOUT ROWID) instead of a
--   rowid table plus a separate unique index on the key; the unused index
--   on expires_at is dropped.
-- * audit_events: `seq` becomes the rowid (`integer primary key`) instead
--   of a rowid table plus a separate unique index on seq. Values, and so the
--   hash chain, are unchanged.
--
-- The PostgreSQL twin of this file has the same number and name.

create table tokens_by_key (
    token_digest   text primary key not null,  -- issue order + keyed digest (ADR 0003)
    credential_id  text not null references credentials (id),
    roles          text not null,
    issued_at      bigint not null,
    expires_at     bigint not null,
    last_used_at   bigint not null,
    secret_version bigint not null,
    revoked_at     bigint,
    revoked_reason text
) without rowid;

insert into tokens_by_key
select token_digest, credential_id, roles, issued_at, expires_at, last_used_at, secret_version, revoked_at,
       revoked_reason
from tokens;

drop table tokens;
alter table tokens_by_key rename to tokens;
create index tokens_credential on tokens (credential_id);

create table audit_events_by_seq (
    seq         integer primary key not null,  -- the rowid: 1, 2, 3, … without gaps
    at          bigint not null,
    event       text not null,
    outcome     text not null,
    actor_kind  text not null,
    actor_id    text,
    actor_name  text,
    ip          text,
    target_kind text,
    target_id   text,
    target_name text,
    details     text not null,
    prev_hash   text not null,
    hash        text not null
);

insert into audit_events_by_seq
select seq, at, event, outcome, actor_kind, actor_id, actor_name, ip, target_kind, target_id, target_name, details,
       prev_hash, hash
from audit_events;

drop table audit_events;
alter table audit_events_by_seq rename to audit_events;
create index audit_events_at on audit_events (at);
create index audit_events_event on audit_events (event, at);
create index audit_events_actor on audit_events (actor_id, at);
create index audit_events_target on audit_events (target_id, at);
