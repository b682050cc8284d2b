-- Creates affrelay's own role and database next to Temporal's.
--
-- The postgres image runs files in /docker-entrypoint-initdb.d once, when the data
-- volume is first initialized, through psql as the superuser (POSTGRES_USER, here
-- "temporal") connected to POSTGRES_DB. It does not run them again on later starts,
-- so changing the password afterwards means `ALTER ROLE affrelay PASSWORD ...` by hand.
--
-- Temporal's own databases (temporal, temporal_visibility) are created and migrated by
-- the temporal-schema service in docker-compose.yml, not here.
--
-- The password comes from the container environment (AFFRELAY_DB_PASSWORD); \getenv
-- needs psql 15 or later (the postgres:16 image ships psql 16). It is passed as a psql
-- variable, so it is quoted as a literal and never echoed.

\set ON_ERROR_STOP on
\getenv affrelay_password AFFRELAY_DB_PASSWORD

\if :{?affrelay_password}
\else
DO $$ BEGIN RAISE EXCEPTION 'AFFRELAY_DB_PASSWORD is not set in the postgresql container'; END $$;
\endif

-- A login role without superuser, CREATEDB or CREATEROLE: it owns only its database.
CREATE ROLE affrelay LOGIN PASSWORD :'affrelay_password';
CREATE DATABASE affrelay OWNER affrelay;
-- Other (non-superuser) roles may not connect to it.
REVOKE ALL ON DATABASE affrelay FROM PUBLIC;
