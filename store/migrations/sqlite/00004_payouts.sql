-- Payouts (issue 11): entry statuses with plan holds, audited transitions, statements and their lines,
-- minimum payout overrides, payouts-scoped API keys, and webhook subscriptions limited to one affiliate.

-- +goose Up
ALTER TABLE `plans` ADD `hold_days` integer NOT NULL DEFAULT 0;
ALTER TABLE `ledger_entries` ADD `status` text NOT NULL DEFAULT "pending";
CREATE INDEX `idx_ledger_entries_status` ON `ledger_entries`(`status`);
ALTER TABLE `webhook_subscriptions` ADD `affiliate_id` text;
CREATE INDEX `idx_webhook_subscriptions_affiliate_id` ON `webhook_subscriptions`(`affiliate_id`);
CREATE TABLE `entry_transitions` (`id` integer PRIMARY KEY AUTOINCREMENT,`ledger_entry_id` text NOT NULL,`from` text NOT NULL,`to` text NOT NULL,`reason` text,`actor` text NOT NULL,`payout_id` text,`at` datetime);
CREATE INDEX `idx_entry_transitions_ledger_entry_id` ON `entry_transitions`(`ledger_entry_id`);
CREATE TABLE `payouts` (`id` text,`affiliate_id` text NOT NULL,`period` text NOT NULL,`currency` text NOT NULL,`cycle` text NOT NULL,`period_start` datetime NOT NULL,`period_end` datetime NOT NULL,`status` text NOT NULL,`reason` text,`workflow_id` text NOT NULL,`cpa_minor` integer NOT NULL,`rev_share_minor` integer NOT NULL,`sub_affiliate_minor` integer NOT NULL,`adjustments_minor` integer NOT NULL,`net_minor` integer NOT NULL,`lines` integer NOT NULL,`external_ref` text,`paid_at` datetime,`confirmed_at` datetime,`reminded_at` datetime,`created_at` datetime,`updated_at` datetime,PRIMARY KEY (`id`));
CREATE UNIQUE INDEX `idx_payouts_external_ref` ON `payouts`(`external_ref`);
CREATE INDEX `idx_payouts_status` ON `payouts`(`status`);
CREATE INDEX `idx_payouts_period` ON `payouts`(`period`);
CREATE UNIQUE INDEX `idx_payout_key` ON `payouts`(`affiliate_id`,`period`,`currency`);
CREATE TABLE `payout_lines` (`id` integer PRIMARY KEY AUTOINCREMENT,`payout_id` text NOT NULL,`ledger_entry_id` text NOT NULL,`locked_entry_id` text,`kind` text NOT NULL,`event_id` text,`player_id` text,`event_at` datetime NOT NULL,`amount_minor` integer NOT NULL);
CREATE UNIQUE INDEX `idx_payout_lines_locked_entry_id` ON `payout_lines`(`locked_entry_id`);
CREATE INDEX `idx_payout_lines_ledger_entry_id` ON `payout_lines`(`ledger_entry_id`);
CREATE INDEX `idx_payout_lines_payout_id` ON `payout_lines`(`payout_id`);
CREATE TABLE `affiliate_payout_minimums` (`affiliate_id` text,`currency` text,`amount_minor` integer NOT NULL,PRIMARY KEY (`affiliate_id`,`currency`));
CREATE TABLE `payout_keys` (`id` text,`label` text,`hash` text NOT NULL,`prefix` text,`revoked_at` datetime,`created_at` datetime,PRIMARY KEY (`id`));
CREATE UNIQUE INDEX `idx_payout_keys_hash` ON `payout_keys`(`hash`);

-- +goose Down
DROP TABLE IF EXISTS `payout_keys`;
DROP TABLE IF EXISTS `affiliate_payout_minimums`;
DROP TABLE IF EXISTS `payout_lines`;
DROP TABLE IF EXISTS `payouts`;
DROP TABLE IF EXISTS `entry_transitions`;
DROP INDEX IF EXISTS `idx_webhook_subscriptions_affiliate_id`;
ALTER TABLE `webhook_subscriptions` DROP COLUMN `affiliate_id`;
DROP INDEX IF EXISTS `idx_ledger_entries_status`;
ALTER TABLE `ledger_entries` DROP COLUMN `status`;
ALTER TABLE `plans` DROP COLUMN `hold_days`;
