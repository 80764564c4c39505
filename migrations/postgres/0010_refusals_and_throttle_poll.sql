-- Refused token requests, counted per minute instead of one audit row each
-- (app/src/backend/refusals.rs). The client id is as sent (escaped, clipped);
-- '*' in client_id, address and reason is the row of the requests past the
-- per-minute cap of distinct rows.
create table token_refusals (
    minute        bigint not null,
    client_id     text not null,
    address       text not null,
    reason        text not null,
    error         text not null,
    credential_id text,
    requests      bigint not null,
    primary key (minute, client_id, address, reason)
);

-- The throttle front learns full keys of other instances by window start
-- (app/src/backend/auth/throttle.rs, FrontedThrottle::poll).
create index throttle_by_window on throttle (window_start);
