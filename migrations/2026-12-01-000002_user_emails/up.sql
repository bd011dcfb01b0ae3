-- Every email value of a User, lower-cased, as a column the server derives from resource
-- on every write (as it does email and department), for the index behind `emails.value
-- eq`. It replaces the expression index on scimd_emails(resource): every write of a user
-- ran that PL/pgSQL function, which took a few percent of the CPU of a create. The server
-- lower-cases as the in-memory filter evaluator does; rows written before this migration
-- keep PostgreSQL's lower() until their next write (the two differ only for some
-- non-ASCII letters, depending on the database's locale).
DROP INDEX users_emails;
ALTER TABLE users ADD COLUMN emails jsonb NOT NULL DEFAULT '[]';
UPDATE users SET emails = to_jsonb(scimd_emails(resource))
WHERE jsonb_typeof(resource -> 'emails') = 'array' AND resource -> 'emails' <> '[]';
CREATE INDEX users_emails ON users USING gin (emails jsonb_path_ops);
DROP FUNCTION scimd_emails(jsonb);
