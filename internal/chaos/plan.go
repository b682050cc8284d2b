package chaos

import (
	"fmt"
	"math/rand/v2"
	"time"
)

// The run's commission plans, kept simple enough that their independent computation (expect.go) is
// obviously right: one currency, no FX, no tiers, no carryover, no sub-affiliates.
const (
	currency = "USD"
	// cpaAmount is paid once per player whose ftd reaches cpaMinFirstDeposit.
	cpaAmount          = 40_00
	cpaMinFirstDeposit = 50_00
	// revSharePercent of each calendar month's positive NGR (carryover off).
	revSharePercent = 25
)

// Plan kinds, one third of the affiliates each.
const (
	kindCPA      = "cpa"
	kindRevShare = "revshare"
	kindHybrid   = "hybrid"
)

var planKinds = []string{kindCPA, kindRevShare, kindHybrid}

// planJSON is the plan of an affiliate of the given kind as the admin API takes it.
func planJSON(kind string) map[string]any {
	p := map[string]any{"type": kind, "currency": currency}
	if kind != kindRevShare {
		p["amount"] = formatMinor(cpaAmount)
		p["qualification"] = map[string]any{"min_first_deposit": formatMinor(cpaMinFirstDeposit)}
	}
	if kind != kindCPA {
		p["tiers"] = []map[string]any{{"from": "0", "rate": fmt.Sprint(revSharePercent)}}
		p["tier_mode"] = "tiered"
	}
	return p
}

// event is one postback an operator sends.
type event struct {
	ID         string
	Type       string // registration, ftd, deposit, revenue, chargeback
	Affiliate  int    // index into the run's affiliates
	Player     string
	Amount     int64 // minor units; negative only for revenue
	OccurredAt time.Time
	// Original is the event a chargeback undoes (an index into the run's events).
	Original int
	// Copies is how many times the operator sends it (2 or more for about 20%), concurrently, to different replicas.
	Copies int
}

// generate makes about n events for affiliates players, deterministic for a seed. Every player belongs to one
// affiliate and sends registration, ftd, 0–2 deposits and 0–3 revenue events (some negative); some players
// charge back their ftd (when it is their only deposit), a deposit or a revenue event. Each player's events
// happen, in order, within one of the two calendar months before now.
func generate(seed uint64, n, affiliates int, runID string, now time.Time) []event {
	r := rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))
	thisMonth := time.Date(now.Year(), now.Month(), 1, 0, 0, 0, 0, time.UTC)
	months := []time.Time{thisMonth.AddDate(0, -2, 0), thisMonth.AddDate(0, -1, 0)}
	var evs []event
	for p := 0; len(evs) < n; p++ {
		aff := p % affiliates
		player := fmt.Sprintf("%s-p%d", runID, p)
		month := months[r.IntN(len(months))]
		// Up to 10 events a player, an hour apart at most, from a start that keeps them inside the month.
		at := month.Add(time.Duration(r.IntN(25*24)) * time.Hour)
		add := func(typ string, amount int64, original int) int {
			at = at.Add(time.Duration(1+r.IntN(60)) * time.Minute)
			evs = append(evs, event{
				ID: fmt.Sprintf("%s-%d", player, len(evs)), Type: typ, Affiliate: aff, Player: player,
				Amount: amount, OccurredAt: at, Original: original, Copies: 1,
			})
			return len(evs) - 1
		}
		add("registration", 0, -1)
		// First deposits from 20.00 to 150.00: about a quarter do not reach the CPA's 50.00.
		ftd := add("ftd", int64(20_00+r.IntN(130_01)), -1)
		var deposits, revenues []int
		for range r.IntN(3) {
			deposits = append(deposits, add("deposit", int64(10_00+r.IntN(500_01)), -1))
		}
		for range r.IntN(4) {
			// NGR from −300.00 to 900.00, never 0 (a chargeback's amount must be positive).
			ngr := int64(r.IntN(1200_01) - 300_00)
			if ngr == 0 {
				ngr = 1_00
			}
			revenues = append(revenues, add("revenue", ngr, -1))
		}
		undo := func(i int) {
			add("chargeback", abs(evs[i].Amount), i)
		}
		if len(deposits) == 0 && r.IntN(100) < 15 {
			undo(ftd)
		}
		if len(deposits) > 0 && r.IntN(100) < 10 {
			undo(deposits[r.IntN(len(deposits))])
		}
		if len(revenues) > 0 && r.IntN(100) < 20 {
			undo(revenues[r.IntN(len(revenues))])
		}
	}
	evs = evs[:n]
	for i := range evs {
		if evs[i].Original >= n {
			evs[i].Original = -1 // cut off with its original: cannot happen, chargebacks follow their originals
		}
		if r.IntN(100) < 20 {
			evs[i].Copies = 2 + r.IntN(2)
		}
	}
	return evs
}

func abs(v int64) int64 {
	if v < 0 {
		return -v
	}
	return v
}

// formatMinor renders minor units as a decimal string with two places ("-12.05").
func formatMinor(v int64) string {
	sign := ""
	if v < 0 {
		sign, v = "-", -v
	}
	return fmt.Sprintf("%s%d.%02d", sign, v/100, v%100)
}
