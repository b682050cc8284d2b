-- Per-subscription schedule of performance.report (issue 16): daily, weekly or monthly, in a time zone.

-- +goose Up
ALTER TABLE "webhook_subscriptions" ADD "report_frequency" varchar(8) NOT NULL DEFAULT 'weekly';
ALTER TABLE "webhook_subscriptions" ADD "report_time_zone" varchar(64) NOT NULL DEFAULT 'UTC';

-- +goose Down
ALTER TABLE "webhook_subscriptions" DROP COLUMN "report_time_zone";
ALTER TABLE "webhook_subscriptions" DROP COLUMN "report_frequency";
