-- Operations (issue 14): an affiliate's postback endpoint counts deliveries in a row that ended in needs_review.

-- +goose Up
ALTER TABLE "postback_endpoints" ADD "consecutive_failures" bigint NOT NULL DEFAULT 0;

-- +goose Down
ALTER TABLE "postback_endpoints" DROP COLUMN "consecutive_failures";
