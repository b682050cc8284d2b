-- The tamper-evident audit log (issue 15): each row carries its position in a SHA-256 chain, the previous
-- row's hash and its own (package auditchain). Rows written before this migration have no position and stay
-- outside the chain. audit_chain_heads holds the chain's last link, locked by every insert; audit_checkpoints
-- keeps the heads sent out daily and the cut of each pruning, from which verification starts.

-- +goose Up
ALTER TABLE "audit_records" ADD "seq" bigint;
ALTER TABLE "audit_records" ADD "prev_hash" varchar(64);
ALTER TABLE "audit_records" ADD "hash" varchar(64);
CREATE UNIQUE INDEX IF NOT EXISTS "idx_audit_records_seq" ON "audit_records" ("seq");
CREATE TABLE IF NOT EXISTS "audit_chain_heads" ("id" bigint,"seq" bigint NOT NULL,"hash" varchar(64) NOT NULL,PRIMARY KEY ("id"));
INSERT INTO "audit_chain_heads" ("id", "seq", "hash") VALUES (1, 0, '0000000000000000000000000000000000000000000000000000000000000000');
CREATE TABLE IF NOT EXISTS "audit_checkpoints" ("id" bigserial,"seq" bigint NOT NULL,"hash" varchar(64) NOT NULL,"kind" varchar(16) NOT NULL,"created_at" timestamptz,PRIMARY KEY ("id"));
CREATE INDEX IF NOT EXISTS "idx_audit_checkpoints_seq" ON "audit_checkpoints" ("seq");

-- +goose Down
DROP TABLE IF EXISTS "audit_checkpoints";
DROP TABLE IF EXISTS "audit_chain_heads";
DROP INDEX IF EXISTS "idx_audit_records_seq";
ALTER TABLE "audit_records" DROP COLUMN "hash";
ALTER TABLE "audit_records" DROP COLUMN "prev_hash";
ALTER TABLE "audit_records" DROP COLUMN "seq";
