-- Fewer indexes per issued token (ADR 0003; docs/benchmarks.md): the index
-- on tokens.expires_at is used by no query and cost a write per token. The
-- SQLite twin of this file also re-keys its tables, which PostgreSQL's heap
-- tables do not need. It has the same number and name.

drop index tokens_expires;
