-- Quarterly rotation (issue 17): a maximum secret age per integration and per webhook subscription, and when
-- secret.expiring went out for each secret.

-- +goose Up
ALTER TABLE `integrations` ADD `sec_secret_max_age_days` integer NOT NULL DEFAULT 0;
ALTER TABLE `webhook_subscriptions` ADD `secret_max_age_days` integer NOT NULL DEFAULT 0;
ALTER TABLE `signing_secrets` ADD `expiring_announced_at` datetime;
ALTER TABLE `webhook_secrets` ADD `expiring_announced_at` datetime;

-- +goose Down
ALTER TABLE `webhook_secrets` DROP COLUMN `expiring_announced_at`;
ALTER TABLE `signing_secrets` DROP COLUMN `expiring_announced_at`;
ALTER TABLE `webhook_subscriptions` DROP COLUMN `secret_max_age_days`;
ALTER TABLE `integrations` DROP COLUMN `sec_secret_max_age_days`;
