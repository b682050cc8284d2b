package infra

import (
	"context"
	"log/slog"
	"sync"
	"time"

	"github.com/affrelay/affrelay/store"
)

// auditBatch bounds the rows one INSERT takes.
const auditBatch = 200

// AuditLog stores one row per API call before the call is answered, so an answered call is in the log even
// when the process is killed right after (rows that waited in memory for a timed flush were lost with it).
// Writes are group commits: a single goroutine writes every row queued while its last INSERT ran in the next
// one, so concurrent requests share an INSERT instead of holding SQLite's one connection each. When the
// buffer is full the caller writes its row itself, so a row is never dropped for lack of room; a failed write
// is logged with the number of rows lost.
type AuditLog struct {
	store  *store.Store
	logger *slog.Logger
	rows   chan queuedRow
	done   chan struct{}
	mu     sync.RWMutex // guards closed against Record racing Close
	closed bool
}

// queuedRow is a row waiting for the writer; written is closed once its INSERT ended.
type queuedRow struct {
	row     store.AuditRecord
	written chan struct{}
}

// NewAuditLog starts the writer; buffer is how many rows may wait.
func NewAuditLog(s *store.Store, logger *slog.Logger, buffer int) *AuditLog {
	a := &AuditLog{store: s, logger: logger, rows: make(chan queuedRow, buffer), done: make(chan struct{})}
	go a.run()
	return a
}

// Record stores one row and returns once it is written (or its loss is logged).
func (a *AuditLog) Record(r store.AuditRecord) {
	q := queuedRow{row: r, written: make(chan struct{})}
	a.mu.RLock()
	queued := false
	if !a.closed {
		select {
		case a.rows <- q:
			queued = true
		default:
		}
	}
	a.mu.RUnlock()
	if !queued {
		a.write([]store.AuditRecord{r})
		return
	}
	<-q.written
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
	batch := make([]queuedRow, 0, auditBatch)
	rows := make([]store.AuditRecord, 0, auditBatch)
	for q := range a.rows {
		// The rows queued while the last INSERT ran go in this one.
		batch = append(batch[:0], q)
	more:
		for len(batch) < auditBatch {
			select {
			case q, ok := <-a.rows:
				if !ok {
					break more
				}
				batch = append(batch, q)
			default:
				break more
			}
		}
		rows = rows[:0]
		for _, q := range batch {
			rows = append(rows, q.row)
		}
		a.write(rows)
		for _, q := range batch {
			close(q.written)
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
