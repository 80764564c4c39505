-- Rights generations: revocation that holds under races (docs/decisions/0005).
--
-- Every change to a user's rights (a role granted or removed, a deactivation
-- or reactivation, a credential's roles edited) bumps users.rights_gen in its
-- transaction. A token stores the generation its rights were read at, in the
-- same statement as the rights themselves, so a token issued from a snapshot
-- older than a change carries an older generation and is dead after it,
-- whether or not the change's own "revoke every live token" update saw it:
--
-- * tokens_valid_gen: tokens issued under an older generation are dead
--   (a deactivation, or any role change under the default rule);
-- * user_roles.granted_gen and credential_roles.added_gen: when the current
--   holding of a role began; a token carrying the role from an older
--   generation was issued under an earlier holding and stays dead.
--
-- Generations only grow, so nothing revives a dead token. The PostgreSQL twin
-- of this file has the same number and name.

alter table users add column rights_gen bigint not null default 0;
alter table users add column tokens_valid_gen bigint not null default 0;
alter table user_roles add column granted_gen bigint not null default 0;
alter table credential_roles add column added_gen bigint not null default 0;
alter table tokens add column rights_gen bigint not null default 0;

-- What a change to a user's roles ends: every token of the user (the
-- default, for new and upgraded installations alike) or only the tokens
-- that carry a removed role.
alter table settings add column role_change_ends text not null default 'all_tokens';
