-- Forex volume plans (issue 16): trade events carry lots and an instrument class; volume plans pay per lot,
-- summed per month, plan version and instrument rate in volume_periods.

-- +goose Up
ALTER TABLE "plans" ADD "volume_rates" text;
ALTER TABLE "conversions" ADD "volume_lots" bigint NOT NULL DEFAULT 0;
ALTER TABLE "conversions" ADD "instrument" varchar(16);
ALTER TABLE "ledger_entries" ADD "instrument" varchar(16);
CREATE TABLE IF NOT EXISTS "volume_periods" ("affiliate_id" varchar(40),"period" varchar(7),"plan_id" varchar(40),"instrument" varchar(16),"lots" bigint NOT NULL,"written_minor" bigint NOT NULL,PRIMARY KEY ("affiliate_id","period","plan_id","instrument"));

-- +goose Down
DROP TABLE IF EXISTS "volume_periods";
ALTER TABLE "ledger_entries" DROP COLUMN "instrument";
ALTER TABLE "conversions" DROP COLUMN "instrument";
ALTER TABLE "conversions" DROP COLUMN "volume_lots";
ALTER TABLE "plans" DROP COLUMN "volume_rates";
