-- The audit log: append-only, one row per event, each row's hash chained to
-- the previous row's (tamper evidence, ASVS V16.2). Rows are written in the
-- same transaction as the change they record and never updated or deleted
-- by the application. The PostgreSQL twin of this file has the same number and name.

create table audit_events (
    seq         bigint primary key not null,   -- 1, 2, 3, … without gaps
    at          bigint not null,
    event       text not null,                 -- e.g. credential.created
    outcome     text not null,                 -- success | failure
    actor_kind  text not null,                 -- user | credential | system | anonymous
    actor_id    text,
    actor_name  text,
    ip          text,
    target_kind text,
    target_id   text,
    target_name text,
    details     text not null,                 -- JSON object, never a secret
    prev_hash   text not null,
    hash        text not null
);

create index audit_events_at on audit_events (at);
create index audit_events_event on audit_events (event, at);
create index audit_events_actor on audit_events (actor_id, at);
create index audit_events_target on audit_events (target_id, at);

-- The head of the chain. Writers update this row first, which serialises
-- them on both databases, so sequence numbers and hashes never fork.
create table audit_head (
    id   bigint primary key not null check (id = 1),
    seq  bigint not null,
    hash text not null
);

insert into audit_head values (1, 0, '0000000000000000000000000000000000000000000000000000000000000000');
