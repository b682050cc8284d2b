package store

import (
	"context"
	"errors"
	"fmt"
	"time"

	"gorm.io/gorm"
	"gorm.io/gorm/clause"

	"github.com/affrelay/affrelay/auditchain"
)

// AuditQueries are the typed queries on the audit log, bound to one context.
type AuditQueries struct{ db *gorm.DB }

// Audit returns the audit-log queries for ctx.
func (s *Store) Audit(ctx context.Context) AuditQueries {
	return AuditQueries{db: s.DB.WithContext(ctx)}
}

// AuditFilter narrows the audit log; empty fields match everything.
type AuditFilter struct {
	IntegrationID string
	Status        int
	Since         time.Time
	Limit         int
}

// Insert appends rows to the audit chain in one transaction: it reads and locks the head (lockedHead), links
// the rows after it (auditchain.Seal), inserts them in one statement and moves the head. Concurrent writers,
// in this process or another replica, append in turn; the group commit of infra.AuditLog makes that one lock
// per batch rather than per request. The caller's rows are not changed.
func (q AuditQueries) Insert(rows []AuditRecord) error {
	return q.db.Transaction(func(tx *gorm.DB) error {
		head, err := lockedHead(tx)
		if err != nil {
			return err
		}
		chained := make([]auditchain.Row, len(rows))
		for i, r := range rows {
			r.Time = r.Time.UTC().Truncate(time.Microsecond) // what both databases keep, so the hash survives the round trip
			chained[i] = r.chainRow()
		}
		next := auditchain.Seal(auditchain.Anchor{Seq: head.Seq, Hash: head.Hash}, chained)
		out := make([]AuditRecord, len(rows))
		for i, r := range rows {
			c := chained[i]
			r.ID, r.Time, r.Seq, r.PrevHash, r.Hash = 0, c.Time, &c.Seq, c.PrevHash, c.Hash
			out[i] = r
		}
		if err := tx.Create(&out).Error; err != nil {
			return err
		}
		return tx.Exec("UPDATE audit_chain_heads SET seq = ?, hash = ? WHERE id = 1", next.Seq, next.Hash).Error
	})
}

// lockedHead reads the chain's head and holds its lock until the transaction tx ends: the head row's lock on
// PostgreSQL (SELECT … FOR UPDATE, one round trip), the write lock that SQLite's immediate transactions take
// at BEGIN (its driver leaves the FOR UPDATE out).
func lockedHead(tx *gorm.DB) (AuditChainHead, error) {
	var head AuditChainHead
	if err := tx.Clauses(clause.Locking{Strength: clause.LockingStrengthUpdate}).First(&head, 1).Error; err != nil {
		return head, fmt.Errorf("read the audit chain's head: %w", err)
	}
	return head, nil
}

// chainRow is the row as the chain sees it.
func (r AuditRecord) chainRow() auditchain.Row {
	c := auditchain.Row{Time: r.Time, RequestID: r.RequestID, IntegrationID: r.IntegrationID, KeyID: r.KeyID,
		Method: r.Method, Path: r.Path, Status: r.Status, LatencyMicros: r.LatencyMicros, ClientIP: r.ClientIP,
		PrevHash: r.PrevHash, Hash: r.Hash}
	if r.Seq != nil {
		c.Seq = *r.Seq
	}
	return c
}

// ChainRows returns rows as the chain sees them.
func ChainRows(rows []AuditRecord) []auditchain.Row {
	out := make([]auditchain.Row, len(rows))
	for i, r := range rows {
		out[i] = r.chainRow()
	}
	return out
}

// ListByFilter reads the audit log, newest first.
func (q AuditQueries) ListByFilter(f AuditFilter) ([]AuditRecord, error) {
	db := q.db.Order("time DESC, id DESC").Limit(f.Limit)
	if f.IntegrationID != "" {
		db = db.Where("integration_id = ?", f.IntegrationID)
	}
	if f.Status != 0 {
		db = db.Where("status = ?", f.Status)
	}
	if !f.Since.IsZero() {
		db = db.Where("time >= ?", f.Since.UTC()) // stored in UTC; SQLite compares times as text
	}
	var out []AuditRecord
	return out, db.Find(&out).Error
}

// Head returns the audit chain's last link.
func (q AuditQueries) Head() (auditchain.Anchor, error) {
	var head AuditChainHead
	if err := q.db.First(&head, 1).Error; err != nil {
		return auditchain.Anchor{}, err
	}
	return auditchain.Anchor{Seq: head.Seq, Hash: head.Hash}, nil
}

// SeqRange returns the chain positions of the first row written at or after from and of the last written
// before to (a zero bound is open); ok is false when no chained row lies between.
func (q AuditQueries) SeqRange(from, to time.Time) (first, last int64, ok bool, err error) {
	db := q.db.Model(&AuditRecord{}).Where("seq IS NOT NULL")
	if !from.IsZero() {
		db = db.Where("time >= ?", from.UTC())
	}
	if !to.IsZero() {
		db = db.Where("time < ?", to.UTC())
	}
	var r struct {
		First, Last *int64
	}
	if err := db.Select("MIN(seq) AS first, MAX(seq) AS last").Scan(&r).Error; err != nil {
		return 0, 0, false, err
	}
	if r.First == nil {
		return 0, 0, false, nil
	}
	return *r.First, *r.Last, true, nil
}

// ChainPage returns up to limit chained rows after position after and up to last, in chain order.
func (q AuditQueries) ChainPage(after, last int64, limit int) ([]AuditRecord, error) {
	var out []AuditRecord
	return out, q.db.Where("seq > ? AND seq <= ?", after, last).Order("seq").Limit(limit).Find(&out).Error
}

// AnchorBefore returns the link the row at position seq must follow: Start for the first row, the hash of the
// row before it, or, when that row was pruned, the pruning checkpoint that marks the cut there. ok is false
// when none of these exists: the row before is missing and no pruning explains it.
func (q AuditQueries) AnchorBefore(seq int64) (a auditchain.Anchor, ok bool, err error) {
	if seq <= 1 {
		return auditchain.Start, true, nil
	}
	var prev AuditRecord
	err = q.db.Where("seq = ?", seq-1).Take(&prev).Error
	if err == nil {
		return auditchain.Anchor{Seq: seq - 1, Hash: prev.Hash}, true, nil
	}
	if !errors.Is(err, gorm.ErrRecordNotFound) {
		return a, false, err
	}
	var cp AuditCheckpoint
	err = q.db.Where("seq = ? AND kind = ?", seq-1, AuditCheckpointPrune).Order("id DESC").Take(&cp).Error
	if errors.Is(err, gorm.ErrRecordNotFound) {
		return a, false, nil
	}
	if err != nil {
		return a, false, err
	}
	return auditchain.Anchor{Seq: cp.Seq, Hash: cp.Hash}, true, nil
}

// PruneCut is the position of the last row pruned so far (0: none).
func (q AuditQueries) PruneCut() (int64, error) {
	var cut *int64
	err := q.db.Model(&AuditCheckpoint{}).Where("kind = ?", AuditCheckpointPrune).Select("MAX(seq)").Scan(&cut).Error
	if err != nil || cut == nil {
		return 0, err
	}
	return *cut, nil
}

// Checkpoints returns the checkpoints at positions first to last, in chain order.
func (q AuditQueries) Checkpoints(first, last int64) ([]AuditCheckpoint, error) {
	var out []AuditCheckpoint
	return out, q.db.Where("seq >= ? AND seq <= ?", first, last).Order("seq, id").Find(&out).Error
}

// Checkpoint records the chain's current head as a checkpoint of kind and returns it.
func (q AuditQueries) Checkpoint(kind string) (AuditCheckpoint, error) {
	var cp AuditCheckpoint
	err := q.db.Transaction(func(tx *gorm.DB) error {
		head, err := lockedHead(tx)
		if err != nil {
			return err
		}
		cp = AuditCheckpoint{Seq: head.Seq, Hash: head.Hash, Kind: kind, CreatedAt: time.Now().UTC()}
		return tx.Create(&cp).Error
	})
	return cp, err
}

// PruneBefore deletes the rows written before before and returns how many went. The chain is cut after the
// last row of an unbroken run of old rows from its start (rows are chained in insertion order, which times
// follow only roughly; a later old row waits for the next pruning), and a pruning checkpoint keeps that row's
// hash, so the rows kept still verify from it. Rows from before the chain go by time alone.
func (q AuditQueries) PruneBefore(before time.Time) (int64, error) {
	before = before.UTC()
	var pruned int64
	err := q.db.Transaction(func(tx *gorm.DB) error {
		head, err := lockedHead(tx)
		if err != nil {
			return err
		}
		var firstKept *int64
		if err := tx.Model(&AuditRecord{}).Where("seq IS NOT NULL AND time >= ?", before).Select("MIN(seq)").Scan(&firstKept).Error; err != nil {
			return err
		}
		cut := head.Seq
		if firstKept != nil {
			cut = *firstKept - 1
		}
		var last AuditRecord
		err = tx.Where("seq = ?", cut).Take(&last).Error
		switch {
		case errors.Is(err, gorm.ErrRecordNotFound): // nothing chained to prune: already cut there, or an empty chain
		case err != nil:
			return err
		default:
			if err := tx.Create(&AuditCheckpoint{Seq: cut, Hash: last.Hash, Kind: AuditCheckpointPrune, CreatedAt: time.Now().UTC()}).Error; err != nil {
				return err
			}
			res := tx.Where("seq <= ?", cut).Delete(&AuditRecord{})
			if res.Error != nil {
				return res.Error
			}
			pruned += res.RowsAffected
		}
		res := tx.Where("seq IS NULL AND time < ?", before).Delete(&AuditRecord{})
		pruned += res.RowsAffected
		return res.Error
	})
	return pruned, err
}

// AuditEvidence is the audit rows of some requests with the proof that they are on the chain, up to the first
// checkpoint sent after the last of them.
type AuditEvidence struct {
	Rows  []AuditRecord
	Proof auditchain.Proof
	// Checkpoint is the daily checkpoint the proof ends at; nil when none has been sent since the rows were
	// written, and the proof ends at the chain's current head instead.
	Checkpoint *AuditCheckpoint
}

// evidencePage bounds the rows read at once while the proof's digests are computed.
const evidencePage = 5000

// Evidence returns the chained audit rows of the requests requestIDs (for a conversion: the request id of its
// ConversionRequest and of any duplicate) with the proof from the row before the first of them to the next
// daily checkpoint (auditchain.VerifyProof checks it). No chained row: empty evidence. A row missing in
// between is an error naming it.
func (q AuditQueries) Evidence(requestIDs []string) (AuditEvidence, error) {
	var ev AuditEvidence
	if err := q.db.Where("request_id IN ? AND seq IS NOT NULL", requestIDs).Order("seq").Find(&ev.Rows).Error; err != nil || len(ev.Rows) == 0 {
		return ev, err
	}
	first, last := *ev.Rows[0].Seq, *ev.Rows[len(ev.Rows)-1].Seq
	from, ok, err := q.AnchorBefore(first)
	if err != nil {
		return ev, err
	}
	if !ok {
		return ev, fmt.Errorf("audit row %d is missing and no pruning checkpoint marks a cut there", first-1)
	}
	var cp AuditCheckpoint
	err = q.db.Where("seq >= ? AND kind = ?", last, AuditCheckpointDaily).Order("seq, id").Take(&cp).Error
	var to auditchain.Anchor
	switch {
	case err == nil:
		ev.Checkpoint, to = &cp, auditchain.Anchor{Seq: cp.Seq, Hash: cp.Hash}
	case errors.Is(err, gorm.ErrRecordNotFound):
		if to, err = q.Head(); err != nil {
			return ev, err
		}
	default:
		return ev, err
	}
	ev.Proof = auditchain.Proof{From: from, To: to, Digests: make([]string, 0, to.Seq-from.Seq)}
	for after := from.Seq; after < to.Seq; {
		page, err := q.ChainPage(after, to.Seq, evidencePage)
		if err != nil {
			return ev, err
		}
		for _, r := range page {
			if *r.Seq != after+1 {
				return ev, fmt.Errorf("audit row %d is missing", after+1)
			}
			ev.Proof.Digests = append(ev.Proof.Digests, auditchain.Digest(r.chainRow()))
			after = *r.Seq
		}
		if len(page) == 0 {
			return ev, fmt.Errorf("audit row %d is missing", after+1)
		}
	}
	return ev, nil
}

// RequestIDs lists the request ids of the logged calls answered with status.
func (q AuditQueries) RequestIDs(status int) ([]string, error) {
	var ids []string
	return ids, q.db.Model(&AuditRecord{}).Where("status = ?", status).Pluck("request_id", &ids).Error
}
