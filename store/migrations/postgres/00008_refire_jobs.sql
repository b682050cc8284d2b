-- Operations (issue 14): bulk re-fire jobs and their progress.

-- +goose Up
CREATE TABLE "refire_jobs" ("id" varchar(40),"filter" text NOT NULL,"reason" varchar(512) NOT NULL,"rate_per_second" bigint NOT NULL,"total" bigint NOT NULL,"refired" bigint NOT NULL,"passed" bigint NOT NULL,"state" varchar(16) NOT NULL,"created_at" timestamptz,"updated_at" timestamptz,"finished_at" timestamptz,PRIMARY KEY ("id"));

-- +goose Down
DROP TABLE IF EXISTS "refire_jobs";
