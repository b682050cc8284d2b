-- Payouts (issue 11): entry statuses with plan holds, audited transitions, statements and their lines,
-- minimum payout overrides, payouts-scoped API keys, and webhook subscriptions limited to one affiliate.

-- +goose Up
ALTER TABLE "plans" ADD "hold_days" bigint NOT NULL DEFAULT 0;
ALTER TABLE "ledger_entries" ADD "status" varchar(16) NOT NULL DEFAULT 'pending';
CREATE INDEX IF NOT EXISTS "idx_ledger_entries_status" ON "ledger_entries" ("status");
ALTER TABLE "webhook_subscriptions" ADD "affiliate_id" varchar(40);
CREATE INDEX IF NOT EXISTS "idx_webhook_subscriptions_affiliate_id" ON "webhook_subscriptions" ("affiliate_id");
CREATE TABLE "entry_transitions" ("id" bigserial,"ledger_entry_id" varchar(40) NOT NULL,"from" varchar(16) NOT NULL,"to" varchar(16) NOT NULL,"reason" varchar(512),"actor" varchar(32) NOT NULL,"payout_id" varchar(40),"at" timestamptz,PRIMARY KEY ("id"));
CREATE INDEX IF NOT EXISTS "idx_entry_transitions_ledger_entry_id" ON "entry_transitions" ("ledger_entry_id");
CREATE TABLE "payouts" ("id" varchar(40),"affiliate_id" varchar(40) NOT NULL,"period" varchar(32) NOT NULL,"currency" varchar(3) NOT NULL,"cycle" varchar(16) NOT NULL,"period_start" timestamptz NOT NULL,"period_end" timestamptz NOT NULL,"status" varchar(24) NOT NULL,"reason" varchar(512),"workflow_id" varchar(300) NOT NULL,"cpa_minor" bigint NOT NULL,"rev_share_minor" bigint NOT NULL,"sub_affiliate_minor" bigint NOT NULL,"adjustments_minor" bigint NOT NULL,"net_minor" bigint NOT NULL,"lines" bigint NOT NULL,"external_ref" varchar(128),"paid_at" timestamptz,"confirmed_at" timestamptz,"reminded_at" timestamptz,"created_at" timestamptz,"updated_at" timestamptz,PRIMARY KEY ("id"));
CREATE UNIQUE INDEX IF NOT EXISTS "idx_payouts_external_ref" ON "payouts" ("external_ref");
CREATE INDEX IF NOT EXISTS "idx_payouts_status" ON "payouts" ("status");
CREATE INDEX IF NOT EXISTS "idx_payouts_period" ON "payouts" ("period");
CREATE UNIQUE INDEX IF NOT EXISTS "idx_payout_key" ON "payouts" ("affiliate_id","period","currency");
CREATE TABLE "payout_lines" ("id" bigserial,"payout_id" varchar(40) NOT NULL,"ledger_entry_id" varchar(40) NOT NULL,"locked_entry_id" varchar(40),"kind" varchar(32) NOT NULL,"event_id" varchar(128),"player_id" varchar(128),"event_at" timestamptz NOT NULL,"amount_minor" bigint NOT NULL,PRIMARY KEY ("id"));
CREATE UNIQUE INDEX IF NOT EXISTS "idx_payout_lines_locked_entry_id" ON "payout_lines" ("locked_entry_id");
CREATE INDEX IF NOT EXISTS "idx_payout_lines_ledger_entry_id" ON "payout_lines" ("ledger_entry_id");
CREATE INDEX IF NOT EXISTS "idx_payout_lines_payout_id" ON "payout_lines" ("payout_id");
CREATE TABLE "affiliate_payout_minimums" ("affiliate_id" varchar(40),"currency" varchar(3),"amount_minor" bigint NOT NULL,PRIMARY KEY ("affiliate_id","currency"));
CREATE TABLE "payout_keys" ("id" varchar(40),"label" varchar(128),"hash" varchar(64) NOT NULL,"prefix" varchar(16),"revoked_at" timestamptz,"created_at" timestamptz,PRIMARY KEY ("id"));
CREATE UNIQUE INDEX IF NOT EXISTS "idx_payout_keys_hash" ON "payout_keys" ("hash");

-- +goose Down
DROP TABLE IF EXISTS "payout_keys";
DROP TABLE IF EXISTS "affiliate_payout_minimums";
DROP TABLE IF EXISTS "payout_lines";
DROP TABLE IF EXISTS "payouts";
DROP TABLE IF EXISTS "entry_transitions";
ALTER TABLE "webhook_subscriptions" DROP COLUMN "affiliate_id";
ALTER TABLE "ledger_entries" DROP COLUMN "status";
ALTER TABLE "plans" DROP COLUMN "hold_days";
