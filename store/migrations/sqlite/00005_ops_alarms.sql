-- Operations (issue 14): the stored state of the queue alarms.

-- +goose Up
CREATE TABLE `ops_alarms` (`key` text,`firing` numeric NOT NULL,`seq` integer NOT NULL,`depth` integer NOT NULL,`changed_at` datetime,PRIMARY KEY (`key`));

-- +goose Down
DROP TABLE IF EXISTS `ops_alarms`;
