-- Scheduled reconciliation pulls (issue 10): an integration's operator endpoint and its schedule.

-- +goose Up
CREATE TABLE `reconciliation_pulls` (`integration_id` text,`url_template` text NOT NULL,`auth_header` text,`auth_value` text,`format` text,`cron` text NOT NULL,`time_zone` text NOT NULL,`created_at` datetime,`updated_at` datetime,PRIMARY KEY (`integration_id`));

-- +goose Down
DROP TABLE `reconciliation_pulls`;
