-- The chunks of a reconciliation batch that were compared and corrected (issue 10): a chunk's transaction
-- records it, so the rows that matched no longer need rewriting to be known as processed.

-- +goose Up
CREATE TABLE "reconciliation_chunks" ("batch_id" varchar(40),"after_player_id" varchar(128),"after_day" varchar(10),"last_player_id" varchar(128) NOT NULL,"last_day" varchar(10) NOT NULL,"rows" bigint NOT NULL,PRIMARY KEY ("batch_id","after_player_id","after_day"));

-- +goose Down
DROP TABLE "reconciliation_chunks";
