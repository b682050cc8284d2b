-- Dispute evidence (issue 15): the postback each conversion was recorded from, as received and answered.

-- +goose Up
CREATE TABLE "conversion_requests" ("integration_id" varchar(40),"event_id" varchar(128),"request_id" varchar(40),"method" varchar(8) NOT NULL,"path" varchar(512) NOT NULL,"query" text NOT NULL,"headers" text NOT NULL,"body" text NOT NULL,"body_encoding" varchar(8) NOT NULL,"body_size" bigint NOT NULL,"body_sha256" varchar(64) NOT NULL,"client_ip" varchar(64),"key_id" varchar(40),"signature_verdict" varchar(128),"response_status" bigint NOT NULL,"response_body" text NOT NULL,"received_at" timestamptz NOT NULL,PRIMARY KEY ("integration_id","event_id"));
CREATE INDEX IF NOT EXISTS "idx_conversion_requests_received_at" ON "conversion_requests" ("received_at");

-- +goose Down
DROP TABLE IF EXISTS "conversion_requests";
