// Package audit is the application service that reads, verifies and prunes the log of API calls.
package audit

import (
	"context"
	"fmt"
	"time"

	"github.com/affrelay/affrelay/auditchain"
	"github.com/affrelay/affrelay/store"
)

// Service reads the audit log.
type Service struct {
	Store *store.Store
}

// RequestFilter narrows the audit log; empty fields match everything.
type RequestFilter = store.AuditFilter

// Requests reads the audit log, newest first.
func (s *Service) Requests(ctx context.Context, f RequestFilter) ([]store.AuditRecord, error) {
	return s.Store.Audit(ctx).ListByFilter(f)
}

// PruneRequests deletes audit rows older than before and returns how many went; the chain stays verifiable
// from the pruning checkpoint that marks the cut.
func (s *Service) PruneRequests(ctx context.Context, before time.Time) (int64, error) {
	return s.Store.Audit(ctx).PruneBefore(before)
}

// VerifyRequest is what to verify: the rows written from From to To (a zero bound is open), and optionally a
// copy of a checkpoint kept outside the database (an audit.checkpoint event's seq and hash) that the row at
// its position must still match.
type VerifyRequest struct {
	From, To   time.Time
	Checkpoint *auditchain.Anchor
}

// Report is the outcome of recomputing the audit chain over a time range.
type Report struct {
	From  *time.Time `json:"from,omitempty"`
	To    *time.Time `json:"to,omitempty"`
	OK    bool       `json:"ok"`
	Rows  int64      `json:"rows_checked"`
	First int64      `json:"first_seq,omitempty"` // chain positions checked
	Last  int64      `json:"last_seq,omitempty"`
	// Anchor is the link the first row was checked against: the chain's start, the row before, or the
	// pruning checkpoint that marks a cut.
	Anchor *auditchain.Anchor `json:"anchor,omitempty"`
	// Head is the chain's last link, as the database holds it; compare it with the copy an audit.checkpoint
	// event sent.
	Head auditchain.Anchor `json:"head"`
	// Checkpoint is how the row at the given checkpoint copy's position compared: "matches", or "pruned" (the
	// row is gone with the rows before the last pruning cut, so nothing is left to compare).
	Checkpoint string `json:"checkpoint,omitempty"`
	Break      *Break `json:"break,omitempty"`
}

// Break names the first row that does not fit the chain, and what differs.
type Break struct {
	ID        uint       `json:"id,omitempty"`
	Seq       int64      `json:"seq"`
	RequestID string     `json:"request_id,omitempty"`
	Time      *time.Time `json:"time,omitempty"`
	Reason    string     `json:"reason"`
}

// verifyPage bounds the rows read at once.
const verifyPage = 2000

// Verify recomputes the chain over the rows written from from to to (a zero bound is open) and names the
// first row that does not fit. A broken chain is a report, not an error; errors are the database's.
func (s *Service) Verify(ctx context.Context, req VerifyRequest) (Report, error) {
	q := s.Store.Audit(ctx)
	from, to := req.From, req.To
	r := Report{}
	if !from.IsZero() {
		r.From = &from
	}
	if !to.IsZero() {
		r.To = &to
	}
	head, err := q.Head()
	if err != nil {
		return r, err
	}
	r.Head = head
	if req.Checkpoint != nil {
		if err := r.compareCheckpoint(q, *req.Checkpoint); err != nil || r.Break != nil {
			return r, err
		}
	}
	first, last, ok, err := q.SeqRange(from, to)
	// Rows appended since the head was read are left to the next verification.
	last = min(last, head.Seq)
	if err != nil || !ok || first > last {
		r.OK = err == nil
		return r, err
	}
	r.First, r.Last = first, last
	anchor, ok, err := q.AnchorBefore(first)
	if err != nil {
		return r, err
	}
	if !ok {
		r.Break = &Break{Seq: first, Reason: "the row before it is missing and no pruning checkpoint marks a cut there"}
		r.setRow(q, first)
		return r, nil
	}
	r.Anchor = &anchor
	checkpoints, err := q.Checkpoints(first, last)
	if err != nil {
		return r, err
	}
	at := anchor
	for at.Seq < last {
		page, err := q.ChainPage(at.Seq, last, verifyPage)
		if err != nil {
			return r, err
		}
		if len(page) == 0 { // the rows up to last are gone
			r.Break = &Break{Seq: last, Reason: fmt.Sprintf("rows %d to %d are missing", at.Seq+1, last)}
			return r, nil
		}
		next, br := auditchain.Check(at, store.ChainRows(page))
		r.Rows += next.Seq - at.Seq
		if br != nil {
			row := page[br.Index]
			r.Break = &Break{ID: row.ID, Seq: br.Seq, RequestID: row.RequestID, Time: &row.Time, Reason: br.Reason}
			return r, nil
		}
		for len(checkpoints) > 0 && checkpoints[0].Seq <= next.Seq {
			cp := checkpoints[0]
			checkpoints = checkpoints[1:]
			if row := rowAt(page, cp.Seq); row != nil && row.Hash != cp.Hash {
				r.Break = &Break{ID: row.ID, Seq: cp.Seq, RequestID: row.RequestID, Time: &row.Time,
					Reason: fmt.Sprintf("hash %s is not the %s checkpoint's %s of %s", row.Hash, cp.Kind, cp.Hash, cp.CreatedAt.UTC().Format(time.RFC3339))}
				return r, nil
			}
		}
		at = next
	}
	// Rows cut from the chain's end leave no gap; the head still counts them.
	if last == head.Seq || to.IsZero() {
		if at.Seq != head.Seq || at.Hash != head.Hash {
			r.Break = &Break{Seq: head.Seq, Reason: fmt.Sprintf("the chain's head (%d, %s) is not its last row (%d, %s): rows were cut from its end", head.Seq, head.Hash, at.Seq, at.Hash)}
			return r, nil
		}
	}
	r.OK = true
	return r, nil
}

// compareCheckpoint compares the row at the copy's position with it. Someone who rewrote the chain from
// some row onwards, head and stored checkpoints included, cannot change the copy kept elsewhere.
func (r *Report) compareCheckpoint(q store.AuditQueries, cp auditchain.Anchor) error {
	page, err := q.ChainPage(cp.Seq-1, cp.Seq, 1)
	if err != nil {
		return err
	}
	if len(page) == 1 {
		if row := page[0]; row.Hash != cp.Hash {
			r.Break = &Break{ID: row.ID, Seq: cp.Seq, RequestID: row.RequestID, Time: &row.Time,
				Reason: fmt.Sprintf("hash %s is not the checkpoint copy's %s: the chain up to this row was rewritten", row.Hash, cp.Hash)}
			return nil
		}
		r.Checkpoint = "matches"
		return nil
	}
	cut, err := q.PruneCut()
	if err != nil {
		return err
	}
	if cp.Seq <= cut {
		r.Checkpoint = "pruned"
		return nil
	}
	if cp.Seq > r.Head.Seq {
		r.Break = &Break{Seq: cp.Seq, Reason: fmt.Sprintf("the chain ends at position %d, before the checkpoint copy's %d: rows were cut from its end", r.Head.Seq, cp.Seq)}
		return nil
	}
	r.Break = &Break{Seq: cp.Seq, Reason: "the row at the checkpoint copy's position is missing"}
	return nil
}

// setRow fills the break's row details from the row at seq, when it exists.
func (r *Report) setRow(q store.AuditQueries, seq int64) {
	page, err := q.ChainPage(seq-1, seq, 1)
	if err == nil && len(page) == 1 {
		r.Break.ID, r.Break.RequestID, r.Break.Time = page[0].ID, page[0].RequestID, &page[0].Time
	}
}

func rowAt(page []store.AuditRecord, seq int64) *store.AuditRecord {
	for i := range page {
		if page[i].Seq != nil && *page[i].Seq == seq {
			return &page[i]
		}
	}
	return nil
}
