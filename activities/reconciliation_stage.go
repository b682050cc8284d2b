package activities

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"

	"gorm.io/gorm"

	"github.com/affrelay/affrelay/reconciliation"
	"github.com/affrelay/affrelay/store"
)

// StageFileInput is a revenue file to stage: uploaded, or fetched by a scheduled pull.
type StageFileInput struct {
	IntegrationID   string
	Body            io.Reader
	ContentType     string
	ContentEncoding string
	Source          string
	// MaxBytes caps the file after decompression.
	MaxBytes int64
	// WorkflowID names the batch's workflow from the content's SHA-256.
	WorkflowID func(contentSHA256 string) string
	// Verify, when set, runs after the rows are staged (also for a file with row errors, so an unsigned
	// sender learns nothing of its rows); an error refuses the file whatever else is wrong with it.
	Verify func() error
	// BatchID, when set, is the staging batch's id (a pull's, the same in every attempt: see resumeStaging).
	BatchID string
}

// stageBatch is how many rows are written per insert while streaming (about half a megabyte).
const stageBatch = 5000

// StageFile streams a file into a staging batch, validating every row, and accepts it under its content hash.
// A file with errors is refused whole (*reconciliation.FileError) and its staged rows deleted; so is a body
// cut off or over the limit. The same content again returns the integration's first batch, duplicate set.
func StageFile(ctx context.Context, st *store.Store, f StageFileInput) (b store.ReconciliationBatch, duplicate bool, err error) {
	format, err := reconciliation.FormatOf(f.ContentType)
	if err != nil {
		return b, false, err
	}
	body, err := reconciliation.Decode(f.Body, f.ContentEncoding, f.MaxBytes)
	if err != nil {
		return b, false, err
	}
	hash := sha256.New()
	id := f.BatchID
	if id == "" {
		id = store.NewID("rcb")
	}
	b = store.ReconciliationBatch{ID: id, IntegrationID: f.IntegrationID, Source: f.Source, Status: store.BatchStaging}
	b.ContentSHA256 = "staging:" + b.ID
	if err := st.CreateBatch(ctx, &b); err != nil {
		return b, false, err
	}
	accepted, staging := false, b.ID // b is the earlier batch when this one is a duplicate: that one stays
	defer func() {
		if !accepted {
			// Nothing of a refused or duplicate file stays; the request's context may be gone by now.
			_ = st.DeleteBatch(context.WithoutCancel(ctx), staging)
		}
	}()
	err = stageRows(ctx, st, &b, io.TeeReader(body, hash), format)
	var fe *reconciliation.FileError
	if f.Verify != nil && (err == nil || errors.As(err, &fe)) {
		if verr := f.Verify(); verr != nil {
			return b, false, verr
		}
	}
	if err != nil {
		return b, false, err
	}
	b.ContentSHA256 = hex.EncodeToString(hash.Sum(nil))
	b.WorkflowID = f.WorkflowID(b.ContentSHA256)
	existing, duplicate, err := st.AcceptBatch(ctx, &b)
	if err != nil || duplicate {
		return existing, duplicate, err
	}
	accepted = true
	return b, false, nil
}

// resumeStaging looks for what an earlier attempt of a pull, whose worker was killed, left under that
// attempt's batch id: rows half-staged (deleted) or the batch accepted but not reported (returned, accepted
// true).
func resumeStaging(ctx context.Context, st *store.Store, id string) (store.ReconciliationBatch, bool, error) {
	prev, err := st.Batch(ctx, "", id)
	switch {
	case errors.Is(err, gorm.ErrRecordNotFound):
		return prev, false, nil
	case err != nil:
		return prev, false, err
	case prev.Status != store.BatchStaging:
		return prev, true, nil
	}
	return prev, false, st.DeleteBatch(ctx, id)
}

// stageRows parses and stages every row, and checks the rows together (each player-day once, in one currency).
func stageRows(ctx context.Context, st *store.Store, b *store.ReconciliationBatch, r io.Reader, format string) error {
	p, err := reconciliation.NewParser(r, format)
	if err != nil {
		return fileError(err)
	}
	fe := &reconciliation.FileError{}
	var buf []store.ReconciliationRow
	flush := func() error {
		if len(buf) == 0 || fe.Total > 0 {
			buf = buf[:0]
			return nil
		}
		err := st.StageRows(ctx, buf)
		buf = buf[:0]
		return err
	}
	for {
		row, err := p.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		var re *reconciliation.RowError
		if errors.As(err, &re) {
			fe.Total++
			if len(fe.Errors) < reconciliation.MaxErrors {
				fe.Errors = append(fe.Errors, *re)
			}
			continue
		}
		if err != nil {
			return err // cut off, too large, or the connection failed: nothing is applied
		}
		b.Rows++
		if b.FirstDay == "" || row.Date < b.FirstDay {
			b.FirstDay = row.Date
		}
		if row.Date > b.LastDay {
			b.LastDay = row.Date
		}
		buf = append(buf, store.ReconciliationRow{
			BatchID: b.ID, PlayerID: row.PlayerID, Day: row.Date, Line: row.Line, InFile: true, AffiliateID: row.AffiliateID,
			Currency: row.Currency, HasFirstDeposit: row.HasFirstDeposit, FirstDepositMinor: row.FirstDepositMinor,
			DepositsMinor: row.DepositsMinor, NGRMinor: row.NGRMinor, HasVolume: row.HasVolume, VolumeLots: row.VolumeLots,
		})
		if len(buf) == stageBatch {
			if err := flush(); err != nil {
				return err
			}
		}
	}
	if err := flush(); err != nil {
		return err
	}
	if fe.Total > 0 {
		return fe
	}
	if b.Rows == 0 {
		return &reconciliation.FileError{Total: 1, Errors: []reconciliation.RowError{{Line: 1, Message: "the file has no rows"}}}
	}
	repeated, err := st.RepeatedPlayerDays(ctx, b.ID, reconciliation.MaxErrors)
	if err != nil {
		return err
	}
	for _, r := range repeated {
		msg := fmt.Sprintf("player %s on %s is also on line %d: one row per player and day", r.PlayerID, r.Day, r.FirstLine)
		if r.Currencies > 1 {
			msg = fmt.Sprintf("player %s on %s is also on line %d in another currency: a player-day has one currency", r.PlayerID, r.Day, r.FirstLine)
		}
		fe.Errors = append(fe.Errors, reconciliation.RowError{Line: r.LastLine, Column: p.Column(reconciliation.ColPlayerID), Field: reconciliation.ColPlayerID, Message: msg})
		fe.Total++
	}
	firsts, err := st.RepeatedFirstDeposits(ctx, b.ID, reconciliation.MaxErrors)
	if err != nil {
		return err
	}
	for _, r := range firsts {
		fe.Errors = append(fe.Errors, reconciliation.RowError{Line: r.LastLine, Column: p.Column(reconciliation.ColFirstDeposit), Field: reconciliation.ColFirstDeposit,
			Message: fmt.Sprintf("player %s also has a first deposit on line %d: a player has one first deposit", r.PlayerID, r.FirstLine)})
		fe.Total++
	}
	if len(fe.Errors) > reconciliation.MaxErrors {
		fe.Errors = fe.Errors[:reconciliation.MaxErrors]
	}
	if fe.Total > 0 {
		return fe
	}
	return nil
}

func fileError(err error) error {
	var re *reconciliation.RowError
	if errors.As(err, &re) {
		return &reconciliation.FileError{Total: 1, Errors: []reconciliation.RowError{*re}}
	}
	return err
}
