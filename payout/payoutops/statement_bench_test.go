package payoutops

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"testing"
	"time"

	"github.com/affrelay/affrelay/payout"
	"github.com/affrelay/affrelay/store"
)

// BenchmarkStatement measures one monthly statement of an affiliate with 1,000 approved entries on SQLite:
// selecting and locking the entries, summing them, and writing the payout and its 1,000 lines. The rollback
// after each statement puts the entries back, so every iteration states the same month.
func BenchmarkStatement(b *testing.B) {
	s, err := store.Open("sqlite", filepath.Join(b.TempDir(), "bench.db"))
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	if err := s.Migrate(context.Background()); err != nil {
		b.Fatal(err)
	}
	aff := store.Affiliate{ID: store.NewID("aff"), Name: "bench"}
	if err := s.DB.Create(&aff).Error; err != nil {
		b.Fatal(err)
	}
	start := time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)
	entries := make([]store.LedgerEntry, 1000)
	for i := range entries {
		entries[i] = store.LedgerEntry{ID: store.NewID("led"), AffiliateID: aff.ID, SourceKey: fmt.Sprint("k", i), Kind: "cpa", AmountMinor: 1000,
			Currency: "USD", EventAt: start.Add(time.Duration(i) * time.Minute), Status: payout.EntryApproved}
	}
	if err := s.DB.CreateInBatches(entries, 200).Error; err != nil {
		b.Fatal(err)
	}
	in := NewStatement{Account: store.Account{AffiliateID: aff.ID, Currency: "USD"}, Cycle: payout.Monthly,
		Period: payout.Period{Key: "2026-11", Start: start, End: start.AddDate(0, 1, 0)}, WorkflowID: "bench"}
	stated := errors.New("rolled back")
	b.ResetTimer()
	for b.Loop() {
		err := s.Transaction(context.Background(), func(tx *store.Store) error {
			p, created, err := CreateStatement(tx, in, start)
			if err != nil {
				return err
			}
			if !created || p.Lines != len(entries) || p.NetMinor != 1000*int64(len(entries)) {
				b.Fatalf("statement %+v", p)
			}
			return stated
		})
		if !errors.Is(err, stated) {
			b.Fatal(err)
		}
	}
}
