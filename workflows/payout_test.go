package workflows

import (
	"context"
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/mock"
	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/testsuite"
	"go.temporal.io/sdk/workflow"

	"github.com/affrelay/affrelay/activities"
	"github.com/affrelay/affrelay/payout"
	"github.com/affrelay/affrelay/payout/payoutops"
	"github.com/affrelay/affrelay/store"
)

// payoutFixture runs the payout workflows in the SDK test environment with the real activities on SQLite and a
// real webhook receiver; only time is simulated, so holds, reminders and needs_review pass in milliseconds.
type payoutFixture struct {
	*webhookFixture
	payouts *activities.Payouts
}

func newPayoutFixture(t *testing.T) *payoutFixture {
	f := newWebhookFixture(t, 5)
	return &payoutFixture{webhookFixture: f, payouts: &activities.Payouts{
		Store: &store.Store{DB: f.db}, Policy: f.policy,
		Settings: activities.PayoutSettings{Minimums: map[string]int64{"USD": 2000}, ReminderAfter: 7 * 24 * time.Hour},
	}}
}

func (f *payoutFixture) env(start time.Time) *testsuite.TestWorkflowEnvironment {
	env := quietEnv()
	env.SetStartTime(start)
	env.RegisterWorkflow(PayoutWorkflow)
	env.RegisterWorkflow(DeliveryWorkflow)
	env.RegisterActivity(f.acts)
	env.RegisterActivity(f.payouts)
	return env
}

// dated is a ledger entry's event time and amount.
type dated struct {
	at     time.Time
	amount int64
}

// affiliate creates an affiliate whose plan holds entries holdDays, with the entries given, and returns their ids.
func (f *payoutFixture) affiliate(holdDays int, entries ...dated) (string, []string) {
	aff := store.Affiliate{ID: store.NewID("aff"), Name: "a"}
	plan := store.Plan{ID: store.NewID("pln"), AffiliateID: aff.ID, Type: "cpa", AmountMinor: 1, Currency: "USD", HoldDays: holdDays, EffectiveFrom: time.Unix(0, 0)}
	require.NoError(f.t, f.db.Create(&aff).Error)
	require.NoError(f.t, f.db.Create(&plan).Error)
	var ids []string
	for _, d := range entries {
		e := store.LedgerEntry{ID: store.NewID("led"), AffiliateID: aff.ID, SourceKey: store.NewID("k"), Kind: "cpa", AmountMinor: d.amount, Currency: "USD", PlanID: plan.ID, EventAt: d.at}
		require.NoError(f.t, f.db.Create(&e).Error)
		ids = append(ids, e.ID)
	}
	return aff.ID, ids
}

func (f *payoutFixture) entryStatus(id string) string {
	var e store.LedgerEntry
	require.NoError(f.t, f.db.Where("id = ?", id).Take(&e).Error)
	return e.Status
}

func (f *payoutFixture) payout(affiliateID, period string) store.Payout {
	var p store.Payout
	require.NoError(f.t, f.db.Where("affiliate_id = ? AND period = ?", affiliateID, period).Take(&p).Error)
	return p
}

// cycle runs the monthly cycle at the given time with PayoutWorkflow mocked, and returns the statements it started.
func (f *payoutFixture) cycle(at time.Time) []PayoutInput {
	env := f.env(at)
	var started []PayoutInput
	env.OnWorkflow(PayoutWorkflow, mock.Anything, mock.Anything).Return(func(_ workflow.Context, in PayoutInput) (PayoutResult, error) {
		started = append(started, in)
		return PayoutResult{}, nil
	})
	env.ExecuteWorkflow(PayoutCycleWorkflow, PayoutCycleInput{Cycle: payout.Monthly, TimeZone: "UTC"})
	require.True(f.t, env.IsWorkflowCompleted())
	require.NoError(f.t, env.GetWorkflowError())
	return started
}

func utc(y int, m time.Month, d, h int) time.Time { return time.Date(y, m, d, h, 0, 0, 0, time.UTC) }

func TestPayoutCycleAcrossPeriodBoundary(t *testing.T) {
	f := newPayoutFixture(t)
	finance := newReceiver(t, http.StatusOK)
	_, secret := f.subscribe(finance.srv.URL, payout.EventRequested, payout.EventReminder, payout.EventProcessed)
	// A holds 30 days: October's entry is approved by December 1st, November 20th's only on December 20th.
	held, heldEntries := f.affiliate(30, dated{utc(2026, 10, 10, 12), 20000}, dated{utc(2026, 11, 20, 12), 5000})
	octEntry, novEntry := heldEntries[0], heldEntries[1]
	// B earns 10.00, under the 20.00 minimum.
	small, smallEntries := f.affiliate(0, dated{utc(2026, 11, 5, 12), 1000})

	// December 1st, 06:00: the November cycle.
	started := f.cycle(utc(2026, 12, 1, 6))
	require.Equal(t, payout.EntryApproved, f.entryStatus(octEntry))
	require.Equal(t, payout.EntryPending, f.entryStatus(novEntry), "still in its hold")
	require.Equal(t, payout.EntryApproved, f.entryStatus(smallEntries[0]))
	require.Len(t, started, 2)
	for _, in := range started {
		require.Equal(t, "2026-11", in.Period.Key)
		require.Equal(t, utc(2026, 12, 1, 0), in.Period.End)
	}

	// A's November payout: requested, reminded after 7 days, needs_review after 14, paid on day 15.
	env := f.env(utc(2026, 12, 1, 6))
	in := PayoutInput{AffiliateID: held, Currency: "USD", Cycle: payout.Monthly, Period: started[0].Period}
	env.RegisterDelayedCallback(func() {
		p := f.payout(held, "2026-11")
		require.Equal(t, payout.Awaiting, p.Status)
		require.NotNil(t, p.RemindedAt)
	}, 7*24*time.Hour+time.Hour)
	env.RegisterDelayedCallback(func() {
		require.Equal(t, payout.NeedsReview, f.payout(held, "2026-11").Status)
	}, 14*24*time.Hour+time.Hour)
	env.RegisterDelayedCallback(func() {
		p := f.payout(held, "2026-11")
		require.NoError(t, (&store.Store{DB: f.db}).Transaction(context.Background(), func(tx *store.Store) error {
			_, _, err := payoutops.Confirm(tx, p.ID, payout.Confirmation{Status: payout.ConfirmPaid, ExternalRef: "wire-1", PaidAt: utc(2026, 12, 16, 9)}, utc(2026, 12, 16, 9))
			return err
		}))
		env.SignalWorkflow(PayoutConfirmedSignal, nil)
	}, 15*24*time.Hour)
	env.ExecuteWorkflow(PayoutWorkflow, in)
	require.True(t, env.IsWorkflowCompleted())
	require.NoError(t, env.GetWorkflowError())
	var res PayoutResult
	require.NoError(t, env.GetWorkflowResult(&res))
	require.Equal(t, payout.Paid, res.Status)
	p := f.payout(held, "2026-11")
	require.Equal(t, []any{int64(20000), 1, "wire-1"}, []any{p.NetMinor, p.Lines, *p.ExternalRef})
	require.Equal(t, payout.EntryPaid, f.entryStatus(octEntry))
	require.Equal(t, payout.EntryPending, f.entryStatus(novEntry))
	require.Equal(t, []string{payout.EventRequested, payout.EventReminder, payout.EventProcessed}, finance.types(t))
	finance.verifyAll(t, secret)

	// B's November statement rolls over: under the minimum, nothing requested.
	env = f.env(utc(2026, 12, 1, 6))
	env.ExecuteWorkflow(PayoutWorkflow, PayoutInput{AffiliateID: small, Currency: "USD", Cycle: payout.Monthly, Period: started[0].Period})
	require.NoError(t, env.GetWorkflowResult(&res))
	require.Equal(t, payout.RolledOver, res.Status)
	require.Equal(t, "net 10.00 is below the minimum payout of 20.00: carried to the next statement", f.payout(small, "2026-11").Reason)
	require.Len(t, finance.types(t), 3)

	// January 1st: November 20th's entry has passed its hold and lands on A's December statement, late as it
	// is; B's rolled-over entry is stated again.
	started = f.cycle(utc(2027, 1, 1, 6))
	require.Equal(t, payout.EntryApproved, f.entryStatus(novEntry))
	require.Len(t, started, 2)
	env = f.env(utc(2027, 1, 1, 6))
	env.RegisterDelayedCallback(func() { env.CancelWorkflow() }, time.Hour)
	env.ExecuteWorkflow(PayoutWorkflow, PayoutInput{AffiliateID: held, Currency: "USD", Cycle: payout.Monthly, Period: started[0].Period})
	require.True(t, env.IsWorkflowCompleted())
	dec := f.payout(held, "2026-12")
	require.Equal(t, []any{payout.Awaiting, int64(5000), 1}, []any{dec.Status, dec.NetMinor, dec.Lines})
	lines, err := store.PayoutLines(f.db, dec.ID)
	require.NoError(t, err)
	require.Equal(t, novEntry, lines[0].LedgerEntryID)
}

func TestPayoutWorkflowStartedTwiceMakesOneStatement(t *testing.T) {
	f := newPayoutFixture(t)
	aff, _ := f.affiliate(0, dated{utc(2026, 11, 5, 12), 5000})
	period := payout.Period{Key: "2026-11", Start: utc(2026, 11, 1, 0), End: utc(2026, 12, 1, 0)}
	var ids []string
	for range 2 {
		env := f.env(utc(2026, 12, 1, 6))
		env.RegisterDelayedCallback(func() { env.CancelWorkflow() }, time.Hour)
		env.ExecuteWorkflow(PayoutWorkflow, PayoutInput{AffiliateID: aff, Currency: "USD", Cycle: payout.Monthly, Period: period})
		ids = append(ids, f.payout(aff, "2026-11").ID)
	}
	require.Equal(t, ids[0], ids[1])
	var n int64
	require.NoError(t, f.db.Model(&store.Payout{}).Count(&n).Error)
	require.EqualValues(t, 1, n)
}

// An affiliate's own minimum overrides the program's, both ways.
func TestPayoutMinimumOverride(t *testing.T) {
	f := newPayoutFixture(t)
	period := payout.Period{Key: "2026-11", Start: utc(2026, 11, 1, 0), End: utc(2026, 12, 1, 0)}
	lower, _ := f.affiliate(0, dated{utc(2026, 11, 5, 12), 1000})  // 10.00: under the program's 20.00, over its own 5.00
	higher, _ := f.affiliate(0, dated{utc(2026, 11, 5, 12), 5000}) // 50.00: over the program's 20.00, under its own 100.00
	require.NoError(t, store.SetPayoutMinimum(f.db, store.AffiliatePayoutMinimum{AffiliateID: lower, Currency: "USD", AmountMinor: 500}))
	require.NoError(t, store.SetPayoutMinimum(f.db, store.AffiliatePayoutMinimum{AffiliateID: higher, Currency: "USD", AmountMinor: 10000}))
	_, err := payoutops.ApproveDue(&store.Store{DB: f.db}, "", utc(2026, 12, 1, 6))
	require.NoError(t, err)
	for aff, want := range map[string]string{lower: payout.Awaiting, higher: payout.RolledOver} {
		env := f.env(utc(2026, 12, 1, 6))
		env.RegisterDelayedCallback(func() { env.CancelWorkflow() }, time.Hour)
		env.ExecuteWorkflow(PayoutWorkflow, PayoutInput{AffiliateID: aff, Currency: "USD", Cycle: payout.Monthly, Period: period})
		require.Equal(t, want, f.payout(aff, "2026-11").Status)
	}
	require.Equal(t, "net 50.00 is below the minimum payout of 100.00: carried to the next statement", f.payout(higher, "2026-11").Reason)
}
