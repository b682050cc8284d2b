-- Scheduled reconciliation pulls (issue 10): an integration's operator endpoint and its schedule.

-- +goose Up
CREATE TABLE "reconciliation_pulls" ("integration_id" varchar(40),"url_template" varchar(2048) NOT NULL,"auth_header" varchar(128),"auth_value" varchar(1024),"format" varchar(8),"cron" varchar(128) NOT NULL,"time_zone" varchar(64) NOT NULL,"created_at" timestamptz,"updated_at" timestamptz,PRIMARY KEY ("integration_id"));

-- +goose Down
DROP TABLE "reconciliation_pulls";
