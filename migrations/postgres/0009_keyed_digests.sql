-- Keys derived from the server key (app/src/backend/keys.rs) reach the
-- database. The other backend's twin of this file has the same number and name.

-- Web sessions are stored under a keyed digest of their id, never the id
-- (app/src/backend/auth/session_store.rs). The ids of the existing rows are
-- not known, so they cannot be converted: every session ends here, and
-- everyone signs in once more.
delete from sessions;

-- The audit chain is an HMAC under the derived audit key from the next event
-- on (app/src/backend/audit.rs). The rows written before keep their unkeyed
-- SHA-256 hash; `keyed_from` is the first sequence number of the keyed
-- chain, and `appcred audit verify` checks each part with its own rule.
alter table audit_head add column keyed_from bigint;
update audit_head set keyed_from = seq + 1 where id = 1;
