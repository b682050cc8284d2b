-- Baseline: the schema that GORM's AutoMigrate created before versioned migrations (commit d88b136).
-- IF NOT EXISTS everywhere, so a database that AutoMigrate made is adopted in place: nothing in it changes,
-- and goose records version 1. Later changes are new files; see docs/migrations.md.

-- +goose Up
CREATE TABLE IF NOT EXISTS `integrations` (`id` text,`name` text NOT NULL,`sec_allow_query_token` numeric NOT NULL DEFAULT false,`sec_signature_scheme` text,`sec_signature_header` text,`sec_tolerance_seconds` integer,`sec_ip_allowlist` text,`sec_rate_limit_rps` real,`sec_rate_limit_burst` integer,`landing_hosts` text,`created_at` datetime,PRIMARY KEY (`id`));
CREATE UNIQUE INDEX IF NOT EXISTS `idx_integrations_name` ON `integrations`(`name`);
CREATE TABLE IF NOT EXISTS `api_keys` (`id` text,`integration_id` text NOT NULL,`label` text,`hash` text NOT NULL,`prefix` text,`revoked_at` datetime,`created_at` datetime,PRIMARY KEY (`id`));
CREATE UNIQUE INDEX IF NOT EXISTS `idx_api_keys_hash` ON `api_keys`(`hash`);
CREATE INDEX IF NOT EXISTS `idx_api_keys_integration_id` ON `api_keys`(`integration_id`);
CREATE TABLE IF NOT EXISTS `affiliates` (`id` text,`name` text NOT NULL,`email` text,`parent_id` text,`parent_share_bp` integer,`created_at` datetime,PRIMARY KEY (`id`));
CREATE INDEX IF NOT EXISTS `idx_affiliates_parent_id` ON `affiliates`(`parent_id`);
CREATE TABLE IF NOT EXISTS `plans` (`id` text,`affiliate_id` text NOT NULL,`type` text NOT NULL,`amount_minor` integer NOT NULL,`currency` text NOT NULL,`min_first_deposit_minor` integer NOT NULL DEFAULT 0,`cumulative_deposit_minor` integer NOT NULL DEFAULT 0,`window_days` integer NOT NULL DEFAULT 0,`tiers` text,`tier_mode` text,`carryover` numeric NOT NULL DEFAULT false,`effective_from` datetime NOT NULL,`created_at` datetime,PRIMARY KEY (`id`));
CREATE UNIQUE INDEX IF NOT EXISTS `idx_plan_affiliate_from` ON `plans`(`affiliate_id`,`effective_from`);
CREATE TABLE IF NOT EXISTS `fx_rates` (`id` text,`base` text NOT NULL,`quote` text NOT NULL,`rate_e8` integer NOT NULL,`effective_from` datetime NOT NULL,`created_at` datetime,PRIMARY KEY (`id`));
CREATE UNIQUE INDEX IF NOT EXISTS `idx_fx_pair_from` ON `fx_rates`(`base`,`quote`,`effective_from`);
CREATE TABLE IF NOT EXISTS `clicks` (`id` text,`affiliate_id` text NOT NULL,`integration_id` text NOT NULL,`sub1` text,`sub2` text,`sub3` text,`sub4` text,`sub5` text,`landing_url` text NOT NULL,`created_at` datetime,PRIMARY KEY (`id`));
CREATE INDEX IF NOT EXISTS `idx_clicks_affiliate_id` ON `clicks`(`affiliate_id`);
CREATE TABLE IF NOT EXISTS `postback_endpoints` (`id` text,`affiliate_id` text NOT NULL,`url` text NOT NULL,`method` text NOT NULL,`events` text NOT NULL,`enabled` numeric NOT NULL,`disabled_reason` text,`created_at` datetime,`updated_at` datetime,PRIMARY KEY (`id`));
CREATE INDEX IF NOT EXISTS `idx_postback_endpoints_affiliate_id` ON `postback_endpoints`(`affiliate_id`);
CREATE TABLE IF NOT EXISTS `conversions` (`id` text,`integration_id` text NOT NULL,`event_id` text NOT NULL,`event` text NOT NULL,`affiliate_id` text,`player_id` text,`click_id` text,`amount_minor` integer,`currency` text,`sub1` text,`sub2` text,`sub3` text,`sub4` text,`sub5` text,`original_event_id` text,`occurred_at` datetime,`workflow_id` text,`created_at` datetime,PRIMARY KEY (`id`));
CREATE INDEX IF NOT EXISTS `idx_conversions_affiliate_id` ON `conversions`(`affiliate_id`);
CREATE INDEX IF NOT EXISTS `idx_conversion_original` ON `conversions`(`integration_id`,`original_event_id`);
CREATE INDEX IF NOT EXISTS `idx_conversion_player` ON `conversions`(`integration_id`,`player_id`);
CREATE UNIQUE INDEX IF NOT EXISTS `idx_conversion_event` ON `conversions`(`integration_id`,`event_id`);
CREATE TABLE IF NOT EXISTS `ledger_entries` (`id` text,`affiliate_id` text NOT NULL,`source_key` text NOT NULL,`conversion_id` text,`kind` text NOT NULL,`amount_minor` integer NOT NULL,`currency` text NOT NULL,`plan_id` text,`event_id` text,`player_id` text,`event_at` datetime,`fx_rate` text,`period` text,`base_minor` integer NOT NULL DEFAULT 0,`original_key` text,`created_at` datetime,PRIMARY KEY (`id`));
CREATE INDEX IF NOT EXISTS `idx_ledger_entries_conversion_id` ON `ledger_entries`(`conversion_id`);
CREATE UNIQUE INDEX IF NOT EXISTS `idx_ledger_entries_source_key` ON `ledger_entries`(`source_key`);
CREATE INDEX IF NOT EXISTS `idx_ledger_affiliate_at` ON `ledger_entries`(`affiliate_id`,`event_at`);
CREATE TABLE IF NOT EXISTS `rev_share_periods` (`affiliate_id` text,`period` text,`plan_id` text,`ngr_minor` integer NOT NULL,`written_minor` integer NOT NULL,PRIMARY KEY (`affiliate_id`,`period`,`plan_id`));
CREATE TABLE IF NOT EXISTS `commission_reports` (`id` text,`affiliate_id` text NOT NULL,`period_start` datetime NOT NULL,`period_end` datetime NOT NULL,`body` text NOT NULL,`created_at` datetime,PRIMARY KEY (`id`));
CREATE UNIQUE INDEX IF NOT EXISTS `idx_report_affiliate_week` ON `commission_reports`(`affiliate_id`,`period_start`);
CREATE TABLE IF NOT EXISTS `deliveries` (`id` text,`kind` text NOT NULL,`endpoint_id` text NOT NULL,`event_type` text,`event_key` text,`conversion_id` text,`integration_id` text,`affiliate_id` text,`event_id` text,`method` text NOT NULL,`url` text NOT NULL,`body` text,`status` text NOT NULL,`status_reason` text,`attempts` integer NOT NULL,`last_status_code` integer,`delivered_at` datetime,`created_at` datetime,`updated_at` datetime,PRIMARY KEY (`id`));
CREATE INDEX IF NOT EXISTS `idx_deliveries_status` ON `deliveries`(`status`);
CREATE INDEX IF NOT EXISTS `idx_deliveries_event_id` ON `deliveries`(`event_id`);
CREATE INDEX IF NOT EXISTS `idx_deliveries_affiliate_id` ON `deliveries`(`affiliate_id`);
CREATE INDEX IF NOT EXISTS `idx_deliveries_conversion_id` ON `deliveries`(`conversion_id`);
CREATE INDEX IF NOT EXISTS `idx_deliveries_event_key` ON `deliveries`(`event_key`);
CREATE INDEX IF NOT EXISTS `idx_deliveries_endpoint_id` ON `deliveries`(`endpoint_id`);
CREATE TABLE IF NOT EXISTS `delivery_attempts` (`id` integer PRIMARY KEY AUTOINCREMENT,`delivery_id` text NOT NULL,`number` integer NOT NULL,`started_at` datetime,`duration_ms` integer,`status_code` integer,`response_body` text,`error` text);
CREATE UNIQUE INDEX IF NOT EXISTS `idx_attempt_number` ON `delivery_attempts`(`delivery_id`,`number`);
CREATE TABLE IF NOT EXISTS `webhook_subscriptions` (`id` text,`kind` text NOT NULL,`url` text NOT NULL,`events` text NOT NULL,`description` text,`enabled` numeric NOT NULL,`disabled_reason` text,`consecutive_failures` integer NOT NULL,`created_at` datetime,`updated_at` datetime,PRIMARY KEY (`id`));
CREATE TABLE IF NOT EXISTS `webhook_secrets` (`id` text,`subscription_id` text NOT NULL,`secret` text NOT NULL,`expires_at` datetime,`created_at` datetime,PRIMARY KEY (`id`));
CREATE INDEX IF NOT EXISTS `idx_webhook_secrets_subscription_id` ON `webhook_secrets`(`subscription_id`);
CREATE TABLE IF NOT EXISTS `signing_secrets` (`id` text,`integration_id` text NOT NULL,`secret` text NOT NULL,`prefix` text,`expires_at` datetime,`created_at` datetime,PRIMARY KEY (`id`));
CREATE INDEX IF NOT EXISTS `idx_signing_secrets_integration_id` ON `signing_secrets`(`integration_id`);
CREATE TABLE IF NOT EXISTS `audit_records` (`id` integer PRIMARY KEY AUTOINCREMENT,`time` datetime NOT NULL,`request_id` text NOT NULL,`integration_id` text,`key_id` text,`method` text NOT NULL,`path` text NOT NULL,`status` integer NOT NULL,`latency_micros` integer,`client_ip` text);
CREATE INDEX IF NOT EXISTS `idx_audit_records_status` ON `audit_records`(`status`);
CREATE INDEX IF NOT EXISTS `idx_audit_records_integration_id` ON `audit_records`(`integration_id`);
CREATE INDEX IF NOT EXISTS `idx_audit_records_request_id` ON `audit_records`(`request_id`);
CREATE INDEX IF NOT EXISTS `idx_audit_records_time` ON `audit_records`(`time`);

-- +goose Down
DROP TABLE IF EXISTS `audit_records`;
DROP TABLE IF EXISTS `signing_secrets`;
DROP TABLE IF EXISTS `webhook_secrets`;
DROP TABLE IF EXISTS `webhook_subscriptions`;
DROP TABLE IF EXISTS `delivery_attempts`;
DROP TABLE IF EXISTS `deliveries`;
DROP TABLE IF EXISTS `commission_reports`;
DROP TABLE IF EXISTS `rev_share_periods`;
DROP TABLE IF EXISTS `ledger_entries`;
DROP TABLE IF EXISTS `conversions`;
DROP TABLE IF EXISTS `postback_endpoints`;
DROP TABLE IF EXISTS `clicks`;
DROP TABLE IF EXISTS `fx_rates`;
DROP TABLE IF EXISTS `plans`;
DROP TABLE IF EXISTS `affiliates`;
DROP TABLE IF EXISTS `api_keys`;
DROP TABLE IF EXISTS `integrations`;
