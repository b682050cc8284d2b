// Package commission computes the ledger entries an event earns under an affiliate's plan, and the reports
// that sum them. It does no I/O: the caller loads the plan, the player's history and the affiliate's RevShare
// state, and writes the returned entries under their unique source keys.
package commission

import (
	"fmt"
	"strings"
	"time"
)

// Plan types.
const (
	CPA      = "cpa"
	RevShare = "revshare"
	Hybrid   = "hybrid"
	// Volume pays per lot of forex trading volume (trade events).
	Volume = "volume"
)

// PlanTypes lists every plan type.
var PlanTypes = []string{CPA, RevShare, Hybrid, Volume}

// Tier modes of a RevShare plan.
const (
	// Tiered pays the rate of the highest tier the month reached on the month's whole NGR.
	Tiered = "tiered"
	// Ladder pays each band of the month's NGR at that band's rate, like income tax brackets.
	Ladder = "ladder"
)

// Tier is one RevShare band: from FromMinor (plan currency, inclusive) on, RateBP basis points (1/100 of a
// percent: 2500 = 25%).
type Tier struct {
	FromMinor int64
	RateBP    int64
}

// Plan is one version of an affiliate's plan, in force from EffectiveFrom until the next version.
type Plan struct {
	ID            string
	Type          string
	Currency      string
	EffectiveFrom time.Time

	// CPA part (cpa, hybrid).
	CPAMinor int64
	// MinFirstDepositMinor > 0 qualifies the player when the first deposit is at least this much.
	MinFirstDepositMinor int64
	// CumulativeDepositMinor > 0 qualifies the player when deposits within WindowDays of registration
	// (0: no limit) add up to at least this much.
	CumulativeDepositMinor int64
	WindowDays             int

	// RevShare part (revshare, hybrid). Tiers ascend by FromMinor; the first starts at 0.
	Tiers     []Tier
	TierMode  string
	Carryover bool

	// Volume part (volume): the rate per lot of each instrument class. TierMode applies to its tiers.
	VolumeRates []VolumeRate
}

// HasCPA reports whether the plan pays a CPA.
func (p Plan) HasCPA() bool { return (p.Type == CPA || p.Type == Hybrid) && p.CPAMinor > 0 }

// HasRevShare reports whether the plan pays a share of net revenue.
func (p Plan) HasRevShare() bool { return (p.Type == RevShare || p.Type == Hybrid) && len(p.Tiers) > 0 }

// Validate says what is wrong with a plan, naming the field as the admin API spells it.
func (p Plan) Validate() (field, message string) {
	switch p.Type {
	case CPA, RevShare, Hybrid:
	case Volume:
		return p.validateVolume()
	default:
		return "type", fmt.Sprintf("%q is not one of %s", p.Type, strings.Join(PlanTypes, ", "))
	}
	if len(p.VolumeRates) > 0 {
		return "volume_rates", "only a volume plan pays per lot"
	}
	if p.Type != RevShare && p.CPAMinor <= 0 {
		return "amount", "must be positive for a " + p.Type + " plan"
	}
	if p.Type == RevShare && (p.CPAMinor != 0 || p.MinFirstDepositMinor != 0 || p.CumulativeDepositMinor != 0) {
		return "amount", "a revshare plan pays no CPA; use a hybrid plan"
	}
	if p.MinFirstDepositMinor < 0 || p.CumulativeDepositMinor < 0 {
		return "qualification", "amounts must not be negative"
	}
	if p.WindowDays < 0 || p.WindowDays > 3660 {
		return "qualification.window_days", "must be from 0 (no limit) to 3660"
	}
	if p.WindowDays > 0 && p.CumulativeDepositMinor == 0 {
		return "qualification.window_days", "needs qualification.cumulative_deposit"
	}
	if p.Type == CPA {
		if len(p.Tiers) > 0 {
			return "tiers", "a cpa plan has no revshare tiers; use a hybrid plan"
		}
		return "", ""
	}
	if len(p.Tiers) == 0 {
		return "tiers", "must list at least one tier"
	}
	if p.TierMode != Tiered && p.TierMode != Ladder {
		return "tier_mode", fmt.Sprintf("%q is not tiered or ladder", p.TierMode)
	}
	for i, t := range p.Tiers {
		if i == 0 && t.FromMinor != 0 {
			return "tiers[0].from", "must be 0"
		}
		if i > 0 && t.FromMinor <= p.Tiers[i-1].FromMinor {
			return fmt.Sprintf("tiers[%d].from", i), "must be above the previous tier's"
		}
		if t.RateBP < 0 || t.RateBP > 10000 {
			return fmt.Sprintf("tiers[%d].rate", i), "must be from 0 to 100 percent"
		}
	}
	return "", ""
}

// PlanAt returns the version in force at t: the latest whose EffectiveFrom is not after t.
func PlanAt(versions []Plan, t time.Time) (Plan, bool) {
	var found Plan
	ok := false
	for _, v := range versions {
		if !v.EffectiveFrom.After(t) && (!ok || v.EffectiveFrom.After(found.EffectiveFrom)) {
			found, ok = v, true
		}
	}
	return found, ok
}
