-- Reconciliation batches (issue 10): a revenue file per row of reconciliation_batches, its player-days staged
-- and then compared in reconciliation_rows.

-- +goose Up
CREATE TABLE "reconciliation_batches" ("id" varchar(40),"integration_id" varchar(40) NOT NULL,"content_sha256" varchar(80) NOT NULL,"workflow_id" varchar(300),"source" varchar(16) NOT NULL,"status" varchar(16) NOT NULL,"error" varchar(1024),"rows" bigint NOT NULL DEFAULT 0,"first_day" varchar(10),"last_day" varchar(10),"missing_flagged" boolean NOT NULL DEFAULT false,"summary" text,"created_at" timestamptz,"updated_at" timestamptz,"completed_at" timestamptz,PRIMARY KEY ("id"));
CREATE INDEX "idx_reconciliation_batches_status" ON "reconciliation_batches" ("status");
CREATE UNIQUE INDEX "idx_recon_batch_content" ON "reconciliation_batches" ("integration_id","content_sha256");
CREATE TABLE "reconciliation_rows" ("id" bigserial,"batch_id" varchar(40) NOT NULL,"player_id" varchar(128) NOT NULL,"day" varchar(10) NOT NULL,"line" bigint NOT NULL,"in_file" boolean NOT NULL,"affiliate_id" varchar(128),"currency" varchar(3) NOT NULL,"has_first_deposit" boolean NOT NULL,"first_deposit_minor" bigint NOT NULL,"deposits_minor" bigint NOT NULL,"ngr_minor" bigint NOT NULL,"processed" boolean NOT NULL DEFAULT false,"status" varchar(24) NOT NULL DEFAULT '',"rt_currencies" varchar(64) NOT NULL DEFAULT '',"rt_deposits_minor" bigint NOT NULL DEFAULT 0,"rt_ngr_minor" bigint NOT NULL DEFAULT 0,"rt_first_deposit" boolean NOT NULL DEFAULT false,"deposits_delta_minor" bigint NOT NULL DEFAULT 0,"ngr_delta_minor" bigint NOT NULL DEFAULT 0,"ftd_recorded" boolean NOT NULL DEFAULT false,"ftd_reversed" boolean NOT NULL DEFAULT false,"corrected_for" varchar(40) NOT NULL DEFAULT '',"commission_minor" bigint NOT NULL DEFAULT 0,"commission_currency" varchar(3) NOT NULL DEFAULT '',PRIMARY KEY ("id"));
CREATE INDEX "idx_recon_row_status" ON "reconciliation_rows" ("batch_id","status");
CREATE INDEX "idx_recon_row_key" ON "reconciliation_rows" ("batch_id","player_id","day");

-- +goose Down
DROP TABLE "reconciliation_rows";
DROP TABLE "reconciliation_batches";
