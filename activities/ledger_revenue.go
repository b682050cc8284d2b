package activities

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/affrelay/affrelay/commission"
	"github.com/affrelay/affrelay/commission/commissionrow"
	"github.com/affrelay/affrelay/postback"
	"github.com/affrelay/affrelay/store"
)

// writeRevenueLedger writes the commission of newly recorded revenue conversions of one affiliate and
// integration, in their order, exactly as writeLedger would one after another, in a few statements for all of
// them: the plans, the parent and the RevShare sums are read once, each conversion is prepared and calculated
// by the engine against the sums as the ones before it left them (kept in memory), and the entries and each
// period's sums are written together. A reconciliation chunk's NGR corrections of one affiliate take it, so
// the affiliate's RevShare lock is held for a few statements per chunk instead of about nine per correction.
//
// When one of the conversions has an undoing event recorded before it, or an entry key the run would write
// is taken, writeLedger writes them one by one instead (nothing of the run is written before that is known).
func (a *Activities) writeRevenueLedger(ctx context.Context, tx *store.Store, convs []store.Conversion) error {
	if len(convs) == 0 {
		return nil
	}
	first := convs[0]
	ids := make([]string, len(convs))
	for i, c := range convs {
		if c.Event != postback.Revenue || c.AffiliateID != first.AffiliateID || c.IntegrationID != first.IntegrationID {
			return fmt.Errorf("revenue run of %s: conversion %s is a %s of %s", first.AffiliateID, c.EventID, c.Event, c.AffiliateID)
		}
		ids[i] = c.EventID
	}
	if err := lockLedgerState(ctx, tx, first); err != nil {
		return err
	}
	q := tx.Ledger(ctx)
	undone, err := q.AnyUndoing(first.IntegrationID, ids, first.AffiliateID)
	if err != nil {
		return err
	}
	if undone {
		return a.writeEach(ctx, tx, convs)
	}
	src := newLedgerSource(ctx, tx, first)
	run := &revenueRun{rates: src, sums: map[[2]string]int{}}
	if run.plans, err = src.Plans(); err != nil {
		return err
	}
	if run.parent, err = src.Parent(); err != nil {
		return err
	}
	if run.periods, err = q.RevSharePeriods(first.AffiliateID); err != nil {
		return err
	}
	for _, c := range convs {
		if _, _, err := calculateInto(run, run, c); err != nil {
			return err
		}
	}
	if len(run.entries) == 0 {
		return nil
	}
	keys := make([]string, len(run.entries))
	for i, e := range run.entries {
		keys[i] = e.SourceKey
	}
	taken, err := q.TakenKeys(keys)
	if err != nil {
		return err
	}
	if len(taken) > 0 {
		return a.writeEach(ctx, tx, convs)
	}
	if err := q.InsertEntries(run.entries); err != nil {
		return err
	}
	for _, p := range run.changed {
		if err := q.AddToRevSharePeriod(p); err != nil {
			return err
		}
	}
	return nil
}

// writeEach writes each conversion's commission on its own, in order.
func (a *Activities) writeEach(ctx context.Context, tx *store.Store, convs []store.Conversion) error {
	for _, c := range convs {
		if _, _, err := a.writeLedger(ctx, tx, c); err != nil {
			return err
		}
	}
	return nil
}

// errNotInRevenueRun is what revenueRun answers for the recorded past that revenue does not read (a player's
// history, earlier entries, volume sums): the run's own entries are not written yet, so it cannot answer it.
var errNotInRevenueRun = errors.New("a revenue run reads no conversions, entries or volume sums")

// revenueRun is the commission.Source and entryWriter of writeRevenueLedger: the affiliate's plans and parent
// as read once, its RevShare sums as read once plus what the run has calculated so far, and the entries
// calculated, to be written together.
type revenueRun struct {
	rates   ledgerSource // FX rates, which the run does not change
	plans   []commission.Plan
	parent  *commission.Parent
	periods []store.RevSharePeriod // as RevSharePeriods returns them: by period and plan version
	entries []store.LedgerEntry
	// changed is what the run adds to each period's sums, sums indexes it by period and plan version.
	changed []store.RevSharePeriod
	sums    map[[2]string]int
}

func (r *revenueRun) Plans() ([]commission.Plan, error)   { return r.plans, nil }
func (r *revenueRun) Parent() (*commission.Parent, error) { return r.parent, nil }
func (r *revenueRun) RevShareEntries() ([]commission.Entry, error) {
	return commissionrow.RevSharePeriods(r.periods), nil
}
func (r *revenueRun) Rate(from, to string, at time.Time) (int64, error) {
	return r.rates.Rate(from, to, at)
}
func (r *revenueRun) Conversion(string) (commission.Recorded, bool, error) {
	return commission.Recorded{}, false, errNotInRevenueRun
}
func (r *revenueRun) PlayerConversions(string) ([]commission.Recorded, error) {
	return nil, errNotInRevenueRun
}
func (r *revenueRun) Entry(string) (*commission.Entry, error)         { return nil, errNotInRevenueRun }
func (r *revenueRun) EventEntries(string) ([]commission.Entry, error) { return nil, errNotInRevenueRun }
func (r *revenueRun) VolumePeriod(string, string, string) (commission.VolumePeriod, error) {
	return commission.VolumePeriod{}, errNotInRevenueRun
}

// insert keeps the entry to write; its key is checked free before the run writes (TakenKeys). Entries get
// their creation time now, so they list in the order they were calculated, as writeLedger's would.
func (r *revenueRun) insert(conversionID string, e commission.Entry) (bool, error) {
	row := commissionrow.LedgerRow(store.NewID("led"), conversionID, e)
	row.CreatedAt = time.Now()
	r.entries = append(r.entries, row)
	return true, nil
}

// addToRevShare adds the entry to its period's sums, as AddToRevSharePeriod adds it to the stored row.
func (r *revenueRun) addToRevShare(e commission.Entry) error {
	add := store.RevSharePeriod{AffiliateID: e.AffiliateID, Period: e.Period, PlanID: e.PlanID, NGRMinor: e.BaseMinor, WrittenMinor: e.AmountMinor}
	i := slices.IndexFunc(r.periods, func(p store.RevSharePeriod) bool { return p.Period == e.Period && p.PlanID == e.PlanID })
	if i < 0 {
		r.periods = append(r.periods, store.RevSharePeriod{AffiliateID: e.AffiliateID, Period: e.Period, PlanID: e.PlanID})
		slices.SortFunc(r.periods, func(a, b store.RevSharePeriod) int {
			return cmp.Or(cmp.Compare(a.Period, b.Period), cmp.Compare(a.PlanID, b.PlanID))
		})
		i = slices.IndexFunc(r.periods, func(p store.RevSharePeriod) bool { return p.Period == e.Period && p.PlanID == e.PlanID })
	}
	r.periods[i].NGRMinor += add.NGRMinor
	r.periods[i].WrittenMinor += add.WrittenMinor
	k := [2]string{e.Period, e.PlanID}
	j, ok := r.sums[k]
	if !ok {
		j = len(r.changed)
		r.sums[k] = j
		r.changed = append(r.changed, store.RevSharePeriod{AffiliateID: e.AffiliateID, Period: e.Period, PlanID: e.PlanID})
	}
	r.changed[j].NGRMinor += add.NGRMinor
	r.changed[j].WrittenMinor += add.WrittenMinor
	return nil
}

func (r *revenueRun) addToVolume(commission.Entry) error {
	return errors.New("a revenue run writes no volume entries")
}
