package activities

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"sync"
	"time"

	"go.temporal.io/sdk/activity"
	"golang.org/x/sync/errgroup"

	"github.com/affrelay/affrelay/eventplan"
	"github.com/affrelay/affrelay/postback"
	"github.com/affrelay/affrelay/reconciliation"
	"github.com/affrelay/affrelay/retrypolicy"
	"github.com/affrelay/affrelay/store"
)

// Reconciliation holds the activities of ReconciliationWorkflow. Corrections go through the same attribution,
// conversion recording and commission engine as postbacks (the ledger's writeLedger).
type Reconciliation struct {
	Store *store.Store
	// ledger writes the commission of each correcting conversion, and carries the delivery policy.
	ledger *Activities
	// ChunkRows is how many rows one transaction compares and corrects.
	ChunkRows int
	// ParallelChunks is how many chunks are applied at once on PostgreSQL.
	ParallelChunks int
	// afterChunk is Activities.ReconciliationAfterChunk.
	afterChunk func(ctx context.Context)
	// HTTP fetches scheduled pulls (the outbound client: no private targets unless allowed).
	HTTP *http.Client
	// MaxFileBytes caps a pulled file after decompression.
	MaxFileBytes int64
}

// NewReconciliation builds the reconciliation activities on the conversion activities' store and ledger.
func NewReconciliation(a *Activities) *Reconciliation {
	return &Reconciliation{Store: a.Store, ledger: a, ChunkRows: a.ReconciliationChunkRows, ParallelChunks: a.ReconciliationParallelChunks, afterChunk: a.ReconciliationAfterChunk, HTTP: a.HTTP, MaxFileBytes: a.ReconciliationMaxBytes}
}

// WorkflowIDPrefix marks conversions written by a reconciliation: their WorkflowID is the batch's workflow id.
const WorkflowIDPrefix = store.ReconciliationWorkflowIDPrefix

// BatchWorkflowID is the workflow id of a batch: its integration and content hash (workflows.ReconciliationWorkflowID).
func BatchWorkflowID(integrationID, contentSHA256 string) string {
	return WorkflowIDPrefix + integrationID + ":" + contentSHA256
}

// CorrectionEventID is the event id of one correction: derived from the batch, player-day and kind, so a
// replayed chunk records the same conversion, which exists already and earns nothing twice.
func CorrectionEventID(batchID, playerID, day, kind string) string {
	sum := sha256.Sum256([]byte(batchID + "\x00" + playerID + "\x00" + day + "\x00" + kind))
	return "recon_" + hex.EncodeToString(sum[:16])
}

// ReconciliationBatchInput names a batch.
type ReconciliationBatchInput struct {
	BatchID string
}

// FlagMissingInFileResult is empty: the rows are in the database.
type FlagMissingInFileResult struct{}

// FlagMissingInFile adds the player-days real time recorded within the file's days that the file lacks.
func (r *Reconciliation) FlagMissingInFile(ctx context.Context, in ReconciliationBatchInput) (FlagMissingInFileResult, error) {
	b, err := r.Store.Batch(ctx, "", in.BatchID)
	if err != nil {
		return FlagMissingInFileResult{}, err
	}
	return FlagMissingInFileResult{}, r.Store.FlagMissingInFile(ctx, b)
}

// ProcessReconciliationRowsInput says which batch, and how many rows this run may process before it returns
// so the workflow's history records progress.
type ProcessReconciliationRowsInput struct {
	BatchID string
	MaxRows int
}

// ProcessReconciliationRowsResult says how many rows were processed and whether none is left.
type ProcessReconciliationRowsResult struct {
	Processed int
	Done      bool
}

// ProcessReconciliationRows compares and corrects the batch's rows a chunk at a time, each chunk in one
// transaction that also records the chunk: a chunk is applied whole or not at all, and never twice.
// Chunks are read in order and, on PostgreSQL, applied up to ParallelChunks at once: a chunk ends with its
// last player's days, so no two chunks touch one player. The heartbeat carries the end of the chunks
// committed so far without a gap, so a retry after a killed worker resumes there, passing over the chunks
// committed after it.
func (r *Reconciliation) ProcessReconciliationRows(ctx context.Context, in ProcessReconciliationRowsInput) (ProcessReconciliationRowsResult, error) {
	var res ProcessReconciliationRowsResult
	b, err := r.Store.Batch(ctx, "", in.BatchID)
	if err != nil {
		return res, err
	}
	var cursor store.RowCursor
	if activity.HasHeartbeatDetails(ctx) {
		_ = activity.GetHeartbeatDetails(ctx, &cursor) // no position: start over; committed chunks are passed over
	}
	earlier, err := store.CommittedChunks(r.Store.DB.WithContext(ctx), b.ID, cursor)
	if err != nil {
		return res, err
	}
	committed := committedChunks{}
	for _, c := range earlier {
		committed[c.After()] = c
	}
	parallel := r.ParallelChunks
	if r.Store.DB.Dialector.Name() != "postgres" || parallel < 1 {
		parallel = 1 // one writer
	}
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(parallel)
	var progress chunkProgress
	committedThrough := func(chunk int) {
		if end, ok := progress.commit(chunk); ok {
			activity.RecordHeartbeat(ctx, end)
		}
	}
	var readErr error
	stopping := activity.GetWorkerStopChannel(ctx)
read:
	for res.Processed < in.MaxRows && gctx.Err() == nil {
		if c, ok := committed[cursor]; ok {
			cursor = c.Last() // committed by a run before: passed over without reading it
			committedThrough(progress.add(cursor))
			continue
		}
		var rows []store.ReconciliationRow
		if rows, readErr = store.ChunkRows(r.Store.DB.WithContext(gctx), b.ID, cursor, r.ChunkRows); readErr != nil {
			break
		}
		if len(rows) == 0 {
			res.Done = true
			break
		}
		rows = committed.cut(rows)
		after, last := cursor, rows[len(rows)-1]
		cursor = store.RowCursor{PlayerID: last.PlayerID, Day: last.Day}
		chunk := progress.add(cursor)
		res.Processed += len(rows)
		g.Go(func() error {
			select {
			case <-stopping:
				return nil // read while a slot was awaited; left to the next worker
			default:
			}
			if err := r.Store.Transaction(gctx, func(tx *store.Store) error { return r.applyChunk(gctx, tx, b, after, rows) }); err != nil {
				return err
			}
			committedThrough(chunk)
			if r.afterChunk != nil {
				r.afterChunk(ctx)
			}
			return nil
		})
		select {
		case <-stopping:
			break read // this worker is stopping: the workflow hands the rest to another
		default:
		}
	}
	if err := errors.Join(g.Wait(), readErr); err != nil {
		return res, fmt.Errorf("reconciliation batch %s: %w", b.ID, err)
	}
	return res, nil
}

// committedChunks are the chunks committed after where a run starts (its heartbeat, or the batch's start for
// the workflow's next run), by the row they begin after.
type committedChunks map[store.RowCursor]store.ReconciliationChunk

// cut returns the rows read up to the first committed chunk that begins among them (a run with another chunk
// size committed it).
func (c committedChunks) cut(rows []store.ReconciliationRow) []store.ReconciliationRow {
	for i, row := range rows[:len(rows)-1] {
		if _, ok := c[store.RowCursor{PlayerID: row.PlayerID, Day: row.Day}]; ok {
			return rows[:i+1]
		}
	}
	return rows
}

// chunkProgress tracks chunks applied out of order: where the chunks committed without a gap end.
type chunkProgress struct {
	mu        sync.Mutex
	ends      []store.RowCursor
	done      []bool
	committed int // chunks committed from the first without a gap
}

// add records a chunk read, ending at end, and returns its number.
func (p *chunkProgress) add(end store.RowCursor) int {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.ends = append(p.ends, end)
	p.done = append(p.done, false)
	return len(p.ends) - 1
}

// commit marks a chunk committed and returns the end of the gapless run when it moved.
func (p *chunkProgress) commit(chunk int) (store.RowCursor, bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.done[chunk] = true
	before := p.committed
	for p.committed < len(p.done) && p.done[p.committed] {
		p.committed++
	}
	if p.committed == before {
		return store.RowCursor{}, false
	}
	return p.ends[p.committed-1], true
}

// differingRow is a processed row that does not simply match, with the corrections it needs.
type differingRow struct {
	row         store.ReconciliationRow
	corrections []reconciliation.Correction
}

// applyChunk records the chunk (the rows after the cursor after), compares each row with real time and writes the differences, within tx; a
// chunk recorded already (by a run that went on after its heartbeat, or runs at the same time) is left as it
// is. The rows that match are left as staged; the corrections, which lock the players and RevShare they
// change, come last so those locks are held briefly.
func (r *Reconciliation) applyChunk(ctx context.Context, tx *store.Store, b store.ReconciliationBatch, after store.RowCursor, rows []store.ReconciliationRow) error {
	last := rows[len(rows)-1]
	recorded, err := store.CommitChunk(tx.DB, store.ReconciliationChunk{BatchID: b.ID, AfterPlayerID: after.PlayerID, AfterDay: after.Day,
		LastPlayerID: last.PlayerID, LastDay: last.Day, Rows: len(rows)})
	if err != nil || !recorded {
		return err
	}
	var players, affiliates []string
	fileFTD := map[string]bool{} // the chunk holds all of a player's rows: the file's first deposit is among them
	for _, row := range rows {
		if len(players) == 0 || players[len(players)-1] != row.PlayerID {
			players = append(players, row.PlayerID)
		}
		if row.AffiliateID != "" {
			affiliates = append(affiliates, row.AffiliateID)
		}
		fileFTD[row.PlayerID] = fileFTD[row.PlayerID] || (row.InFile && row.HasFirstDeposit)
	}
	convs, err := store.PlayersConversions(tx.DB, b.IntegrationID, players)
	if err != nil {
		return err
	}
	events := map[string][]reconciliation.Event{}
	for _, c := range convs {
		events[c.PlayerID] = append(events[c.PlayerID], reconciliation.Event{
			ID: c.EventID, Type: c.Event, At: c.OccurredAt, AmountMinor: c.AmountMinor, Currency: c.Currency,
			OriginalID: c.OriginalEventID, FromReconciliation: store.RecordedByReconciliation(c.WorkflowID),
			VolumeLots: c.VolumeLots, Instrument: c.Instrument,
		})
		if c.AffiliateID != "" {
			affiliates = append(affiliates, c.AffiliateID)
		}
	}
	slices.Sort(affiliates)
	registered, err := store.RegisteredAffiliates(tx.DB, slices.Compact(affiliates))
	if err != nil {
		return err
	}
	// As attribution does for postbacks: a known player keeps the affiliate of its first attributed event.
	attributed := map[string]string{}
	for _, c := range convs {
		if _, ok := attributed[c.PlayerID]; !ok && registered[c.AffiliateID] {
			attributed[c.PlayerID] = c.AffiliateID
		}
	}
	histories := map[string]reconciliation.History{}
	for _, p := range players {
		histories[p] = reconciliation.Summarize(events[p])
	}
	var differing []differingRow
	for _, row := range rows {
		p := reconciliation.Player{Known: len(events[row.PlayerID]) > 0, AffiliateID: attributed[row.PlayerID], FileHasFirstDeposit: fileFTD[row.PlayerID]}
		if p.AffiliateID == "" && registered[row.AffiliateID] {
			p.AffiliateID = row.AffiliateID
		}
		var file *reconciliation.Row
		if row.InFile {
			file = &reconciliation.Row{
				Date: row.Day, PlayerID: row.PlayerID, AffiliateID: row.AffiliateID, Currency: row.Currency,
				HasFirstDeposit: row.HasFirstDeposit, FirstDepositMinor: row.FirstDepositMinor,
				DepositsMinor: row.DepositsMinor, NGRMinor: row.NGRMinor, HasVolume: row.HasVolume, VolumeLots: row.VolumeLots,
			}
		}
		h := histories[row.PlayerID]
		cmp := reconciliation.Compare(file, h, row.Day, p)
		if cmp.Status == reconciliation.StatusMatched && row.InFile {
			continue // left as staged
		}
		row.Status = cmp.Status
		row.RTCurrencies = strings.Join(cmp.RealTime.Currencies, ",")
		row.RTDepositsMinor, row.RTNGRMinor, row.RTFirstDeposit = cmp.RealTime.DepositsMinor, cmp.RealTime.NGRMinor, cmp.RealTime.HasFTD
		row.DepositsDeltaMinor, row.NGRDeltaMinor = cmp.DepositsDeltaMinor, cmp.NGRDeltaMinor
		row.RTVolumeLots, row.VolumeDeltaLots = cmp.RealTime.VolumeLots, cmp.VolumeDeltaLots
		if len(cmp.Corrections) > 0 {
			row.CorrectedFor = p.AffiliateID
			// The first correction of a player no affiliate had attributes its later days, as its first
			// attributed event.
			attributed[row.PlayerID] = p.AffiliateID
		}
		for _, c := range cmp.Corrections {
			row.FTDRecorded = row.FTDRecorded || c.Type == postback.FTD
			row.FTDReversed = row.FTDReversed || c.Type == postback.Reversal
			if c.Type == postback.FTD {
				h.HasFTD = true // a later day of this chunk must not record a second first deposit
				histories[row.PlayerID] = h
			}
		}
		differing = append(differing, differingRow{row: row, corrections: cmp.Corrections})
	}
	// Revenue and trade corrections are inserted before any commission is written (no CPA reads either): the
	// lock on the affiliate's monthly sums the first commission takes is held until the commit, and what runs
	// before it overlaps other chunks.
	early := map[string]upsertedCorrection{}
	for _, d := range differing {
		for _, c := range d.corrections {
			if c.Type == postback.Revenue || c.Type == postback.Trade {
				u, err := r.upsertCorrection(ctx, tx, b, d.row, c)
				if err != nil {
					return err
				}
				early[u.conv.EventID] = u
			}
		}
	}
	// Every lock the chunk's commissions take, taken now in one order (players, then monthly sums, each sorted):
	// the engine takes them conversion by conversion in row order, and chunks applied at once must not wait
	// for each other in a cycle.
	var keys []string
	for _, d := range differing {
		for _, c := range d.corrections {
			ev, err := correctionEvent(b, d.row, c)
			if err != nil {
				return err
			}
			k, err := ledgerLockKeys(ctx, tx, store.Conversion{IntegrationID: b.IntegrationID, Event: ev.Type,
				AffiliateID: ev.AffiliateID, PlayerID: ev.PlayerID, OriginalEventID: ev.OriginalEventID})
			if err != nil {
				return err
			}
			keys = append(keys, k...)
		}
	}
	slices.Sort(keys)
	if err := store.LockKeys(tx.DB, slices.Compact(keys)...); err != nil {
		return err
	}
	// Each correction's commission in row order, except the NGR corrections, which the engine writes per
	// affiliate in one run (no other correction reads or changes RevShare, so the ledger is the same).
	var convIDs []string
	revenue := map[string][]store.Conversion{}
	var revenueOf []string // the affiliates of revenue, in order
	for _, d := range differing {
		for _, c := range d.corrections {
			u, ok := early[CorrectionEventID(b.ID, d.row.PlayerID, d.row.Day, c.Type)]
			if !ok {
				if u, err = r.upsertCorrection(ctx, tx, b, d.row, c); err != nil {
					return err
				}
			}
			convIDs = append(convIDs, u.conv.ID)
			switch {
			case !u.inserted: // recorded with its commission by an earlier run
			case u.conv.Event == postback.Revenue:
				if _, ok := revenue[u.conv.AffiliateID]; !ok {
					revenueOf = append(revenueOf, u.conv.AffiliateID)
				}
				revenue[u.conv.AffiliateID] = append(revenue[u.conv.AffiliateID], u.conv)
			default:
				if _, _, err := r.ledger.writeLedger(ctx, tx, u.conv); err != nil {
					return err
				}
			}
		}
	}
	for _, aff := range revenueOf {
		if err := r.ledger.writeRevenueLedger(ctx, tx, revenue[aff]); err != nil {
			return err
		}
	}
	byConv := map[string][]store.ConversionMoved{}
	if len(convIDs) > 0 {
		moved, err := tx.Ledger(ctx).ConversionsMoved(convIDs)
		if err != nil {
			return err
		}
		for _, m := range moved {
			byConv[m.ConversionID] = append(byConv[m.ConversionID], m)
		}
	}
	i := 0
	for _, d := range differing {
		row := d.row
		for range d.corrections {
			// What the correction moved on the ledger: the affiliate's entries and its parent's shares (in
			// the child's plan currency).
			for _, m := range byConv[convIDs[i]] {
				row.CommissionMinor += m.Minor
				row.CommissionCurrency = m.Currency
			}
			i++
		}
		if err := store.SaveRowResult(tx.DB, row); err != nil {
			return err
		}
	}
	return nil
}

// upsertedCorrection is a correction's conversion, and whether this run inserted it (a replayed chunk finds
// it recorded, with its commission).
type upsertedCorrection struct {
	conv     store.Conversion
	inserted bool
}

// upsertCorrection records one correction as a conversion of the player-day, attributed to row.CorrectedFor
// (a registered affiliate, chosen as attribution chooses for a postback). Its commission is written by the
// engine after it; what moved on the ledger is read back by ledgerMoved (the affiliate's entries and its
// parent's sub-affiliate shares).
func (r *Reconciliation) upsertCorrection(ctx context.Context, tx *store.Store, b store.ReconciliationBatch, row store.ReconciliationRow, c reconciliation.Correction) (upsertedCorrection, error) {
	ev, err := correctionEvent(b, row, c)
	if err != nil {
		return upsertedCorrection{}, err
	}
	conv, inserted, err := upsertConversion(tx.Conversions(ctx), RecordConversionInput{IntegrationID: b.IntegrationID, WorkflowID: b.WorkflowID, Event: ev})
	return upsertedCorrection{conv: conv, inserted: inserted}, err
}

// correctionEvent is the event a correction of a row records.
func correctionEvent(b store.ReconciliationBatch, row store.ReconciliationRow, c reconciliation.Correction) (postback.Event, error) {
	day, err := time.Parse(time.DateOnly, row.Day)
	if err != nil {
		return postback.Event{}, err
	}
	ev := postback.Event{
		EventID: CorrectionEventID(b.ID, row.PlayerID, row.Day, c.Type), Type: c.Type, AffiliateID: row.CorrectedFor,
		PlayerID: row.PlayerID, AmountMinor: c.AmountMinor, Currency: row.Currency,
		OccurredAt: reconciliation.CorrectionAt(day, c), OriginalEventID: c.OriginalEventID,
		VolumeLots: c.VolumeLots, Instrument: c.Instrument,
	}
	if c.Type == postback.Reversal || c.Type == postback.Trade {
		ev.Currency = "" // it moves no money
	}
	return ev, nil
}

// FinishReconciliationResult is the batch's summary and the reconciliation.completed deliveries to start.
type FinishReconciliationResult struct {
	Summary    reconciliation.Summary
	Deliveries []DeliveryRef
	Policy     retrypolicy.Policy
}

// FinishReconciliation stores the batch's report, marks it completed and plans reconciliation.completed in the
// same transaction. Run again, it keeps the stored report and plans nothing twice.
func (r *Reconciliation) FinishReconciliation(ctx context.Context, in ReconciliationBatchInput) (FinishReconciliationResult, error) {
	res := FinishReconciliationResult{Policy: r.ledger.Policy}
	b, err := r.Store.Batch(ctx, "", in.BatchID)
	if err != nil {
		return res, err
	}
	if b.Status == store.BatchCompleted && b.Summary != "" {
		err = json.Unmarshal([]byte(b.Summary), &res.Summary)
	} else {
		res.Summary, err = r.summarize(ctx, b.ID)
	}
	if err != nil {
		return res, err
	}
	body, err := json.Marshal(res.Summary)
	if err != nil {
		return res, err
	}
	now := time.Now().UTC()
	err = r.Store.Transaction(ctx, func(tx *store.Store) error {
		if b.Status != store.BatchCompleted {
			if err := store.CompleteBatch(tx.DB, b.ID, string(body), now); err != nil {
				return err
			}
		} else if b.CompletedAt != nil {
			now = *b.CompletedAt
		}
		var err error
		res.Deliveries, err = planWebhookEvent(tx.DB, eventplan.ReconciliationCompleted(b, res.Summary, now))
		return err
	})
	return res, err
}

func (r *Reconciliation) summarize(ctx context.Context, batchID string) (reconciliation.Summary, error) {
	counts, totals, commissions, err := r.Store.BatchTotals(ctx, batchID, reconciliation.StatusMatched, reconciliation.StatusCurrencyMismatch)
	if err != nil {
		return reconciliation.Summary{}, err
	}
	byStatus := map[string]int64{}
	for _, c := range counts {
		byStatus[c.Status] = c.N
	}
	t := make([]reconciliation.Totals, len(totals))
	for i, x := range totals {
		t[i] = reconciliation.Totals(x)
	}
	commission := map[string]int64{}
	for _, c := range commissions {
		commission[c.Currency] = c.Minor
	}
	return reconciliation.NewSummary(byStatus, t, commission), nil
}
