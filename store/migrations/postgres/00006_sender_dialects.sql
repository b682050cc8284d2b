-- Senders' dialects (issue 17): an integration's postback mapping and its idempotency key.

-- +goose Up
ALTER TABLE "integrations" ADD "postback_mapping" text;
ALTER TABLE "integrations" ADD "idempotency_key" varchar(16) NOT NULL DEFAULT 'event_id';

-- +goose Down
ALTER TABLE "integrations" DROP COLUMN "idempotency_key";
ALTER TABLE "integrations" DROP COLUMN "postback_mapping";
