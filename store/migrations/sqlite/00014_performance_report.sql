-- The performance report (issue 16): a click's visitor for unique clicks, and the indexes that read one
-- affiliate's (or every affiliate's) clicks, conversions and ledger entries of a range.

-- +goose Up
ALTER TABLE `clicks` ADD `visitor` text NOT NULL DEFAULT "";
CREATE INDEX IF NOT EXISTS `idx_clicks_affiliate_created` ON `clicks` (`affiliate_id`,`created_at`);
CREATE INDEX IF NOT EXISTS `idx_clicks_created` ON `clicks` (`created_at`);
CREATE INDEX IF NOT EXISTS `idx_conversion_affiliate_occurred` ON `conversions` (`affiliate_id`,`occurred_at`);
CREATE INDEX IF NOT EXISTS `idx_conversion_occurred` ON `conversions` (`occurred_at`);
CREATE INDEX IF NOT EXISTS `idx_ledger_event_at` ON `ledger_entries` (`event_at`);

-- +goose Down
DROP INDEX IF EXISTS `idx_ledger_event_at`;
DROP INDEX IF EXISTS `idx_conversion_occurred`;
DROP INDEX IF EXISTS `idx_conversion_affiliate_occurred`;
DROP INDEX IF EXISTS `idx_clicks_created`;
DROP INDEX IF EXISTS `idx_clicks_affiliate_created`;
ALTER TABLE `clicks` DROP COLUMN `visitor`;
