-- Baseline: the schema that GORM's AutoMigrate created before versioned migrations (commit d88b136).
-- IF NOT EXISTS everywhere, so a database that AutoMigrate made is adopted in place: nothing in it changes,
-- and goose records version 1. Later changes are new files; see docs/migrations.md.

-- +goose Up
CREATE TABLE IF NOT EXISTS "integrations" ("id" varchar(40),"name" varchar(128) NOT NULL,"sec_allow_query_token" boolean NOT NULL DEFAULT false,"sec_signature_scheme" varchar(32),"sec_signature_header" varchar(64),"sec_tolerance_seconds" bigint,"sec_ip_allowlist" varchar(4096),"sec_rate_limit_rps" decimal,"sec_rate_limit_burst" bigint,"landing_hosts" varchar(2048),"created_at" timestamptz,PRIMARY KEY ("id"));
CREATE UNIQUE INDEX IF NOT EXISTS "idx_integrations_name" ON "integrations" ("name");
CREATE TABLE IF NOT EXISTS "api_keys" ("id" varchar(40),"integration_id" varchar(40) NOT NULL,"label" varchar(128),"hash" varchar(64) NOT NULL,"prefix" varchar(16),"revoked_at" timestamptz,"created_at" timestamptz,PRIMARY KEY ("id"));
CREATE UNIQUE INDEX IF NOT EXISTS "idx_api_keys_hash" ON "api_keys" ("hash");
CREATE INDEX IF NOT EXISTS "idx_api_keys_integration_id" ON "api_keys" ("integration_id");
CREATE TABLE IF NOT EXISTS "affiliates" ("id" varchar(40),"name" varchar(200) NOT NULL,"email" varchar(320),"parent_id" varchar(40),"parent_share_bp" bigint,"created_at" timestamptz,PRIMARY KEY ("id"));
CREATE INDEX IF NOT EXISTS "idx_affiliates_parent_id" ON "affiliates" ("parent_id");
CREATE TABLE IF NOT EXISTS "plans" ("id" varchar(40),"affiliate_id" varchar(40) NOT NULL,"type" varchar(16) NOT NULL,"amount_minor" bigint NOT NULL,"currency" varchar(3) NOT NULL,"min_first_deposit_minor" bigint NOT NULL DEFAULT 0,"cumulative_deposit_minor" bigint NOT NULL DEFAULT 0,"window_days" bigint NOT NULL DEFAULT 0,"tiers" text,"tier_mode" varchar(8),"carryover" boolean NOT NULL DEFAULT false,"effective_from" timestamptz NOT NULL,"created_at" timestamptz,PRIMARY KEY ("id"));
CREATE UNIQUE INDEX IF NOT EXISTS "idx_plan_affiliate_from" ON "plans" ("affiliate_id","effective_from");
CREATE TABLE IF NOT EXISTS "fx_rates" ("id" varchar(40),"base" varchar(3) NOT NULL,"quote" varchar(3) NOT NULL,"rate_e8" bigint NOT NULL,"effective_from" timestamptz NOT NULL,"created_at" timestamptz,PRIMARY KEY ("id"));
CREATE UNIQUE INDEX IF NOT EXISTS "idx_fx_pair_from" ON "fx_rates" ("base","quote","effective_from");
CREATE TABLE IF NOT EXISTS "clicks" ("id" varchar(40),"affiliate_id" varchar(128) NOT NULL,"integration_id" varchar(40) NOT NULL,"sub1" varchar(256),"sub2" varchar(256),"sub3" varchar(256),"sub4" varchar(256),"sub5" varchar(256),"landing_url" varchar(2048) NOT NULL,"created_at" timestamptz,PRIMARY KEY ("id"));
CREATE INDEX IF NOT EXISTS "idx_clicks_affiliate_id" ON "clicks" ("affiliate_id");
CREATE TABLE IF NOT EXISTS "postback_endpoints" ("id" varchar(40),"affiliate_id" varchar(40) NOT NULL,"url" varchar(2048) NOT NULL,"method" varchar(8) NOT NULL,"events" varchar(256) NOT NULL,"enabled" boolean NOT NULL,"disabled_reason" varchar(256),"created_at" timestamptz,"updated_at" timestamptz,PRIMARY KEY ("id"));
CREATE INDEX IF NOT EXISTS "idx_postback_endpoints_affiliate_id" ON "postback_endpoints" ("affiliate_id");
CREATE TABLE IF NOT EXISTS "conversions" ("id" varchar(40),"integration_id" varchar(40) NOT NULL,"event_id" varchar(128) NOT NULL,"event" varchar(32) NOT NULL,"affiliate_id" varchar(40),"player_id" varchar(128),"click_id" varchar(128),"amount_minor" bigint,"currency" varchar(3),"sub1" varchar(256),"sub2" varchar(256),"sub3" varchar(256),"sub4" varchar(256),"sub5" varchar(256),"original_event_id" varchar(128),"occurred_at" timestamptz,"workflow_id" varchar(300),"created_at" timestamptz,PRIMARY KEY ("id"));
CREATE INDEX IF NOT EXISTS "idx_conversions_affiliate_id" ON "conversions" ("affiliate_id");
CREATE INDEX IF NOT EXISTS "idx_conversion_original" ON "conversions" ("integration_id","original_event_id");
CREATE INDEX IF NOT EXISTS "idx_conversion_player" ON "conversions" ("integration_id","player_id");
CREATE UNIQUE INDEX IF NOT EXISTS "idx_conversion_event" ON "conversions" ("integration_id","event_id");
CREATE TABLE IF NOT EXISTS "ledger_entries" ("id" varchar(40),"affiliate_id" varchar(40) NOT NULL,"source_key" varchar(300) NOT NULL,"conversion_id" varchar(40),"kind" varchar(32) NOT NULL,"amount_minor" bigint NOT NULL,"currency" varchar(3) NOT NULL,"plan_id" varchar(40),"event_id" varchar(128),"player_id" varchar(128),"event_at" timestamptz,"fx_rate" varchar(40),"period" varchar(7),"base_minor" bigint NOT NULL DEFAULT 0,"original_key" varchar(300),"created_at" timestamptz,PRIMARY KEY ("id"));
CREATE INDEX IF NOT EXISTS "idx_ledger_entries_conversion_id" ON "ledger_entries" ("conversion_id");
CREATE UNIQUE INDEX IF NOT EXISTS "idx_ledger_entries_source_key" ON "ledger_entries" ("source_key");
CREATE INDEX IF NOT EXISTS "idx_ledger_affiliate_at" ON "ledger_entries" ("affiliate_id","event_at");
CREATE TABLE IF NOT EXISTS "rev_share_periods" ("affiliate_id" varchar(40),"period" varchar(7),"plan_id" varchar(40),"ngr_minor" bigint NOT NULL,"written_minor" bigint NOT NULL,PRIMARY KEY ("affiliate_id","period","plan_id"));
CREATE TABLE IF NOT EXISTS "commission_reports" ("id" varchar(40),"affiliate_id" varchar(40) NOT NULL,"period_start" timestamptz NOT NULL,"period_end" timestamptz NOT NULL,"body" text NOT NULL,"created_at" timestamptz,PRIMARY KEY ("id"));
CREATE UNIQUE INDEX IF NOT EXISTS "idx_report_affiliate_week" ON "commission_reports" ("affiliate_id","period_start");
CREATE TABLE IF NOT EXISTS "deliveries" ("id" varchar(40),"kind" varchar(16) NOT NULL,"endpoint_id" varchar(40) NOT NULL,"event_type" varchar(64),"event_key" varchar(300),"conversion_id" varchar(40),"integration_id" varchar(40),"affiliate_id" varchar(40),"event_id" varchar(128),"method" varchar(8) NOT NULL,"url" varchar(4096) NOT NULL,"body" text,"status" varchar(16) NOT NULL,"status_reason" varchar(512),"attempts" bigint NOT NULL,"last_status_code" bigint,"delivered_at" timestamptz,"created_at" timestamptz,"updated_at" timestamptz,PRIMARY KEY ("id"));
CREATE INDEX IF NOT EXISTS "idx_deliveries_status" ON "deliveries" ("status");
CREATE INDEX IF NOT EXISTS "idx_deliveries_event_id" ON "deliveries" ("event_id");
CREATE INDEX IF NOT EXISTS "idx_deliveries_affiliate_id" ON "deliveries" ("affiliate_id");
CREATE INDEX IF NOT EXISTS "idx_deliveries_conversion_id" ON "deliveries" ("conversion_id");
CREATE INDEX IF NOT EXISTS "idx_deliveries_event_key" ON "deliveries" ("event_key");
CREATE INDEX IF NOT EXISTS "idx_deliveries_endpoint_id" ON "deliveries" ("endpoint_id");
CREATE TABLE IF NOT EXISTS "delivery_attempts" ("id" bigserial,"delivery_id" varchar(40) NOT NULL,"number" bigint NOT NULL,"started_at" timestamptz,"duration_ms" bigint,"status_code" bigint,"response_body" text,"error" varchar(1024),PRIMARY KEY ("id"));
CREATE UNIQUE INDEX IF NOT EXISTS "idx_attempt_number" ON "delivery_attempts" ("delivery_id","number");
CREATE TABLE IF NOT EXISTS "webhook_subscriptions" ("id" varchar(40),"kind" varchar(16) NOT NULL,"url" varchar(2048) NOT NULL,"events" varchar(1024) NOT NULL,"description" varchar(512),"enabled" boolean NOT NULL,"disabled_reason" varchar(256),"consecutive_failures" bigint NOT NULL,"created_at" timestamptz,"updated_at" timestamptz,PRIMARY KEY ("id"));
CREATE TABLE IF NOT EXISTS "webhook_secrets" ("id" varchar(40),"subscription_id" varchar(40) NOT NULL,"secret" varchar(128) NOT NULL,"expires_at" timestamptz,"created_at" timestamptz,PRIMARY KEY ("id"));
CREATE INDEX IF NOT EXISTS "idx_webhook_secrets_subscription_id" ON "webhook_secrets" ("subscription_id");
CREATE TABLE IF NOT EXISTS "signing_secrets" ("id" varchar(40),"integration_id" varchar(40) NOT NULL,"secret" varchar(256) NOT NULL,"prefix" varchar(16),"expires_at" timestamptz,"created_at" timestamptz,PRIMARY KEY ("id"));
CREATE INDEX IF NOT EXISTS "idx_signing_secrets_integration_id" ON "signing_secrets" ("integration_id");
CREATE TABLE IF NOT EXISTS "audit_records" ("id" bigserial,"time" timestamptz NOT NULL,"request_id" varchar(40) NOT NULL,"integration_id" varchar(40),"key_id" varchar(40),"method" varchar(8) NOT NULL,"path" varchar(512) NOT NULL,"status" bigint NOT NULL,"latency_micros" bigint,"client_ip" varchar(64),PRIMARY KEY ("id"));
CREATE INDEX IF NOT EXISTS "idx_audit_records_status" ON "audit_records" ("status");
CREATE INDEX IF NOT EXISTS "idx_audit_records_integration_id" ON "audit_records" ("integration_id");
CREATE INDEX IF NOT EXISTS "idx_audit_records_request_id" ON "audit_records" ("request_id");
CREATE INDEX IF NOT EXISTS "idx_audit_records_time" ON "audit_records" ("time");

-- +goose Down
DROP TABLE IF EXISTS "audit_records";
DROP TABLE IF EXISTS "signing_secrets";
DROP TABLE IF EXISTS "webhook_secrets";
DROP TABLE IF EXISTS "webhook_subscriptions";
DROP TABLE IF EXISTS "delivery_attempts";
DROP TABLE IF EXISTS "deliveries";
DROP TABLE IF EXISTS "commission_reports";
DROP TABLE IF EXISTS "rev_share_periods";
DROP TABLE IF EXISTS "ledger_entries";
DROP TABLE IF EXISTS "conversions";
DROP TABLE IF EXISTS "postback_endpoints";
DROP TABLE IF EXISTS "clicks";
DROP TABLE IF EXISTS "fx_rates";
DROP TABLE IF EXISTS "plans";
DROP TABLE IF EXISTS "affiliates";
DROP TABLE IF EXISTS "api_keys";
DROP TABLE IF EXISTS "integrations";
