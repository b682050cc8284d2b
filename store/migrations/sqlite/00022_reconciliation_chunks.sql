-- The chunks of a reconciliation batch that were compared and corrected (issue 10): a chunk's transaction
-- records it, so the rows that matched no longer need rewriting to be known as processed.

-- +goose Up
CREATE TABLE `reconciliation_chunks` (`batch_id` text,`after_player_id` text,`after_day` text,`last_player_id` text NOT NULL,`last_day` text NOT NULL,`rows` integer NOT NULL,PRIMARY KEY (`batch_id`,`after_player_id`,`after_day`));

-- +goose Down
DROP TABLE `reconciliation_chunks`;
