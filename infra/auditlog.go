package infra

import (
	"context"
	"log/slog"
	"sync"
	"time"

	"github.com/affrelay/affrelay/store"
)

// Rows are written in one INSERT per auditBatch rows or per auditFlushEvery, whichever comes first: an INSERT
// per request would hold SQLite's one connection as long as the request's own queries do.
const (
	auditBatch      = 200
	auditFlushEvery = 50 * time.Millisecond
)

// AuditLog stores one row per API call off the request path: rows queue in a bounded buffer and a single
// goroutine writes them in batches, at most auditFlushEvery after they were queued. When the buffer is full the caller writes its row itself, so a row is
// never dropped for lack of room; a failed write is logged with the number of rows lost.
type AuditLog struct {
	store  *store.Store
	logger *slog.Logger
	rows   chan store.AuditRecord
	done   chan struct{}
	mu     sync.RWMutex // guards closed against Record racing Close
	closed bool
}

// NewAuditLog starts the writer; buffer is how many rows may wait.
func NewAuditLog(s *store.Store, logger *slog.Logger, buffer int) *AuditLog {
	a := &AuditLog{store: s, logger: logger, rows: make(chan store.AuditRecord, buffer), done: make(chan struct{})}
	go a.run()
	return a
}

// Record queues one row.
func (a *AuditLog) Record(r store.AuditRecord) {
	a.mu.RLock()
	defer a.mu.RUnlock()
	if !a.closed {
		select {
		case a.rows <- r:
			return
		default:
		}
	}
	a.write([]store.AuditRecord{r})
}

// Close writes every queued row and stops the writer.
func (a *AuditLog) Close() {
	a.mu.Lock()
	if !a.closed {
		a.closed = true
		close(a.rows)
	}
	a.mu.Unlock()
	<-a.done
}

func (a *AuditLog) run() {
	defer close(a.done)
	batch := make([]store.AuditRecord, 0, auditBatch)
	flush := time.NewTimer(auditFlushEvery)
	flush.Stop()
	for {
		select {
		case r, ok := <-a.rows:
			if !ok {
				if len(batch) > 0 {
					a.write(batch)
				}
				return
			}
			batch = append(batch, r)
			if len(batch) == 1 {
				flush.Reset(auditFlushEvery)
			}
			if len(batch) == auditBatch {
				flush.Stop()
				a.write(batch)
				batch = batch[:0]
			}
		case <-flush.C:
			a.write(batch)
			batch = batch[:0]
		}
	}
}

func (a *AuditLog) write(rows []store.AuditRecord) {
	if len(rows) == 0 {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	err := a.store.Audit(ctx).Insert(rows)
	if err == nil {
		return
	}
	if len(rows) == 1 {
		a.logger.Error("audit row lost: the database refused it", "request_id", rows[0].RequestID, "error", err)
		return
	}
	// One bad row must not take the batch down with it.
	for _, r := range rows {
		a.write([]store.AuditRecord{r})
	}
}
