-- Operations (issue 14): re-fires of deliveries, with the operator's reason.

-- +goose Up
CREATE TABLE "delivery_refires" ("id" bigserial,"delivery_id" varchar(40) NOT NULL,"job_id" varchar(40),"reason" varchar(512) NOT NULL,"previous_status" varchar(16) NOT NULL,"requested_at" timestamptz,PRIMARY KEY ("id"));
CREATE INDEX IF NOT EXISTS "idx_delivery_refires_delivery_id" ON "delivery_refires" ("delivery_id");
CREATE INDEX IF NOT EXISTS "idx_delivery_refires_job_id" ON "delivery_refires" ("job_id");

-- +goose Down
DROP TABLE IF EXISTS "delivery_refires";
