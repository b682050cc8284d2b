-- Dispute evidence (issue 15): each delivery attempt keeps the request as sent, its URL and headers (a JSON
-- object); a webhook's timestamp and signature change with every attempt. Empty on attempts made before.

-- +goose Up
ALTER TABLE `delivery_attempts` ADD `url` text NOT NULL DEFAULT '';
ALTER TABLE `delivery_attempts` ADD `request_headers` text NOT NULL DEFAULT '';

-- +goose Down
ALTER TABLE `delivery_attempts` DROP COLUMN `request_headers`;
ALTER TABLE `delivery_attempts` DROP COLUMN `url`;
