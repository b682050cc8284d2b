-- Operations (issue 14): re-fires of deliveries, with the operator's reason.

-- +goose Up
CREATE TABLE `delivery_refires` (`id` integer PRIMARY KEY AUTOINCREMENT,`delivery_id` text NOT NULL,`job_id` text,`reason` text NOT NULL,`previous_status` text NOT NULL,`requested_at` datetime);
CREATE INDEX `idx_delivery_refires_delivery_id` ON `delivery_refires`(`delivery_id`);
CREATE INDEX `idx_delivery_refires_job_id` ON `delivery_refires`(`job_id`);

-- +goose Down
DROP TABLE IF EXISTS `delivery_refires`;
