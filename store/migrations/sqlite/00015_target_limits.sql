-- Operations (issue 14): a postback endpoint or webhook subscription may have its own limits on attempts per
-- second and in flight; 0 means the defaults (delivery.target_max_rps, delivery.target_max_in_flight).

-- +goose Up
ALTER TABLE `postback_endpoints` ADD `max_rps` real NOT NULL DEFAULT 0;
ALTER TABLE `postback_endpoints` ADD `max_in_flight` integer NOT NULL DEFAULT 0;
ALTER TABLE `webhook_subscriptions` ADD `max_rps` real NOT NULL DEFAULT 0;
ALTER TABLE `webhook_subscriptions` ADD `max_in_flight` integer NOT NULL DEFAULT 0;

-- +goose Down
ALTER TABLE `webhook_subscriptions` DROP COLUMN `max_in_flight`;
ALTER TABLE `webhook_subscriptions` DROP COLUMN `max_rps`;
ALTER TABLE `postback_endpoints` DROP COLUMN `max_in_flight`;
ALTER TABLE `postback_endpoints` DROP COLUMN `max_rps`;
