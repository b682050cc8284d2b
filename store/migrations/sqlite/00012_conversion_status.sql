-- Event statuses (issue 17): a conversion is approved, pending or declined; only an approved one earns.

-- +goose Up
ALTER TABLE `conversions` ADD `status` text NOT NULL DEFAULT "approved";
ALTER TABLE `conversions` ADD `status_workflow_id` text;

-- +goose Down
ALTER TABLE `conversions` DROP COLUMN `status_workflow_id`;
ALTER TABLE `conversions` DROP COLUMN `status`;
