-- Reconciliation volume column (issue 16): a forex file's lots per player-day, real time's, and the difference.

-- +goose Up
ALTER TABLE "reconciliation_rows" ADD "has_volume" boolean NOT NULL DEFAULT false;
ALTER TABLE "reconciliation_rows" ADD "volume_lots" bigint NOT NULL DEFAULT 0;
ALTER TABLE "reconciliation_rows" ADD "rt_volume_lots" bigint NOT NULL DEFAULT 0;
ALTER TABLE "reconciliation_rows" ADD "volume_delta_lots" bigint NOT NULL DEFAULT 0;

-- +goose Down
ALTER TABLE "reconciliation_rows" DROP COLUMN "volume_delta_lots";
ALTER TABLE "reconciliation_rows" DROP COLUMN "rt_volume_lots";
ALTER TABLE "reconciliation_rows" DROP COLUMN "volume_lots";
ALTER TABLE "reconciliation_rows" DROP COLUMN "has_volume";
