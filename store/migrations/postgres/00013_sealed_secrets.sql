-- Secrets at rest (issue 15): signing secrets, webhook secrets and the reconciliation pull's auth value are
-- sealed (AES-256-GCM, "sealed:v1:<key id>:…"), longer than the clear value. Values stored in clear before are
-- sealed in place at start-up (store.Reseal), which needs the key: no SQL can do it.

-- +goose Up
ALTER TABLE "signing_secrets" ALTER COLUMN "secret" TYPE text;
ALTER TABLE "webhook_secrets" ALTER COLUMN "secret" TYPE text;
ALTER TABLE "reconciliation_pulls" ALTER COLUMN "auth_value" TYPE text;

-- +goose Down
ALTER TABLE "reconciliation_pulls" ALTER COLUMN "auth_value" TYPE varchar(1024);
ALTER TABLE "webhook_secrets" ALTER COLUMN "secret" TYPE varchar(128);
ALTER TABLE "signing_secrets" ALTER COLUMN "secret" TYPE varchar(256);
