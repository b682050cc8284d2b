-- Secrets at rest (issue 15): signing secrets, webhook secrets and the reconciliation pull's auth value are
-- sealed (AES-256-GCM, "sealed:v1:<key id>:…"). SQLite's text columns need no change; values stored in clear
-- before are sealed in place at start-up (store.Reseal), which needs the key: no SQL can do it.

-- +goose Up
SELECT 1;

-- +goose Down
SELECT 1;
