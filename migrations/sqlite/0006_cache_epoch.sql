-- A counter bumped, in the same transaction, by every change that can make
-- a live token or a client's cached state wrong (roles, credentials, users,
-- settings, revocation). Each instance polls it and drops its caches when it
-- moves; the instance making the change drops them at once. The PostgreSQL
-- twin of this file has the same number and name.

create table cache_epoch (
    id      bigint primary key not null check (id = 1),
    version bigint not null
);

insert into cache_epoch values (1, 0);
