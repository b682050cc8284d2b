// Package infra runs affrelay's background machinery beside the API: the batched audit-log writer and the
// delivery-queue watcher.
package infra
