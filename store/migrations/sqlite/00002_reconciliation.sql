-- Reconciliation batches (issue 10): a revenue file per row of reconciliation_batches, its player-days staged
-- and then compared in reconciliation_rows.

-- +goose Up
CREATE TABLE `reconciliation_batches` (`id` text,`integration_id` text NOT NULL,`content_sha256` text NOT NULL,`workflow_id` text,`source` text NOT NULL,`status` text NOT NULL,`error` text,`rows` integer NOT NULL DEFAULT 0,`first_day` text,`last_day` text,`missing_flagged` numeric NOT NULL DEFAULT false,`summary` text,`created_at` datetime,`updated_at` datetime,`completed_at` datetime,PRIMARY KEY (`id`));
CREATE INDEX `idx_reconciliation_batches_status` ON `reconciliation_batches`(`status`);
CREATE UNIQUE INDEX `idx_recon_batch_content` ON `reconciliation_batches`(`integration_id`,`content_sha256`);
CREATE TABLE `reconciliation_rows` (`id` integer PRIMARY KEY AUTOINCREMENT,`batch_id` text NOT NULL,`player_id` text NOT NULL,`day` text NOT NULL,`line` integer NOT NULL,`in_file` numeric NOT NULL,`affiliate_id` text,`currency` text NOT NULL,`has_first_deposit` numeric NOT NULL,`first_deposit_minor` integer NOT NULL,`deposits_minor` integer NOT NULL,`ngr_minor` integer NOT NULL,`processed` numeric NOT NULL DEFAULT false,`status` text NOT NULL DEFAULT '',`rt_currencies` text NOT NULL DEFAULT '',`rt_deposits_minor` integer NOT NULL DEFAULT 0,`rt_ngr_minor` integer NOT NULL DEFAULT 0,`rt_first_deposit` numeric NOT NULL DEFAULT false,`deposits_delta_minor` integer NOT NULL DEFAULT 0,`ngr_delta_minor` integer NOT NULL DEFAULT 0,`ftd_recorded` numeric NOT NULL DEFAULT false,`ftd_reversed` numeric NOT NULL DEFAULT false,`corrected_for` text NOT NULL DEFAULT '',`commission_minor` integer NOT NULL DEFAULT 0,`commission_currency` text NOT NULL DEFAULT '');
CREATE INDEX `idx_recon_row_status` ON `reconciliation_rows`(`batch_id`,`status`);
CREATE INDEX `idx_recon_row_key` ON `reconciliation_rows`(`batch_id`,`player_id`,`day`);

-- +goose Down
DROP TABLE `reconciliation_rows`;
DROP TABLE `reconciliation_batches`;
