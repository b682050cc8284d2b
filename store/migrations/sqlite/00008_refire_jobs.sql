-- Operations (issue 14): bulk re-fire jobs and their progress.

-- +goose Up
CREATE TABLE `refire_jobs` (`id` text,`filter` text NOT NULL,`reason` text NOT NULL,`rate_per_second` integer NOT NULL,`total` integer NOT NULL,`refired` integer NOT NULL,`passed` integer NOT NULL,`state` text NOT NULL,`created_at` datetime,`updated_at` datetime,`finished_at` datetime,PRIMARY KEY (`id`));

-- +goose Down
DROP TABLE IF EXISTS `refire_jobs`;
