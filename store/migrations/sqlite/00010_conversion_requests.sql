-- Dispute evidence (issue 15): the postback each conversion was recorded from, as received and answered.

-- +goose Up
CREATE TABLE `conversion_requests` (`integration_id` text,`event_id` text,`request_id` text,`method` text NOT NULL,`path` text NOT NULL,`query` text NOT NULL,`headers` text NOT NULL,`body` text NOT NULL,`body_encoding` text NOT NULL,`body_size` integer NOT NULL,`body_sha256` text NOT NULL,`client_ip` text,`key_id` text,`signature_verdict` text,`response_status` integer NOT NULL,`response_body` text NOT NULL,`received_at` datetime NOT NULL,PRIMARY KEY (`integration_id`,`event_id`));
CREATE INDEX `idx_conversion_requests_received_at` ON `conversion_requests`(`received_at`);

-- +goose Down
DROP TABLE IF EXISTS `conversion_requests`;
