-- Operations (issue 14): the stored state of the queue alarms.

-- +goose Up
CREATE TABLE "ops_alarms" ("key" varchar(200),"firing" boolean NOT NULL,"seq" bigint NOT NULL,"depth" bigint NOT NULL,"changed_at" timestamptz,PRIMARY KEY ("key"));

-- +goose Down
DROP TABLE IF EXISTS "ops_alarms";
