package commission

import (
	"errors"
	"time"

	"github.com/affrelay/affrelay/postback"
)

// Source is the recorded past of one affiliate and integration, as Prepare needs it. The activity reads it
// from the database inside the transaction that writes the entries; tests keep it in memory.
type Source interface {
	// Plans returns every plan version of the affiliate.
	Plans() ([]Plan, error)
	// Parent returns the affiliate's parent, nil when it has none.
	Parent() (*Parent, error)
	// Conversion returns a recorded conversion by event id; ok is false when it is unknown.
	Conversion(eventID string) (c Recorded, ok bool, err error)
	// PlayerConversions returns every recorded conversion of the player.
	PlayerConversions(playerID string) ([]Recorded, error)
	// Entry returns the affiliate's entry with the source key, nil when none.
	Entry(sourceKey string) (*Entry, error)
	// EventEntries returns the affiliate's entries earned by an event.
	EventEntries(eventID string) ([]Entry, error)
	// RevShareEntries returns the affiliate's RevShare entries (or one summed row per period and plan).
	RevShareEntries() ([]Entry, error)
	// VolumePeriod returns the affiliate's lots and volume commission written so far in one period, plan
	// version and volume rate (zero when none).
	VolumePeriod(period, planID, instrument string) (VolumePeriod, error)
	// Rate returns the rate from one currency to another in force at t, scaled by 10^RateDecimals.
	Rate(from, to string, t time.Time) (int64, error)
}

// Recorded is a recorded conversion: its amount in its own currency, and for a chargeback, refund or
// reversal the event it undoes.
type Recorded struct {
	Event
	Currency   string
	OriginalID string
}

// ErrNoPlan is returned by Prepare when no plan version is in force at the event.
var ErrNoPlan = errors.New("no plan in force")

// Prepare loads, through src, everything Calculate needs for the conversion, converting amounts into the
// plan's currency at the rate in force when each event happened.
func Prepare(src Source, affiliateID, integrationID string, c Recorded) (Input, error) {
	in := Input{AffiliateID: affiliateID, IntegrationID: integrationID}
	plans, err := src.Plans()
	if err != nil {
		return in, err
	}
	at := c.At
	if c.OriginalID != "" && IsNegative(c.Type) {
		orig, ok, err := src.Conversion(c.OriginalID)
		if err != nil {
			return in, err
		}
		if ok && orig.ID != c.ID {
			entries, err := src.EventEntries(orig.ID)
			if err != nil {
				return in, err
			}
			in.Original = &Original{Event: orig.Event, Entries: entries}
			at = orig.At               // undone under the plan the original was paid by
			c.PlayerID = orig.PlayerID // and for the original's player, whatever the chargeback says
		}
	}
	var ok bool
	if in.Plan, ok = PlanAt(plans, at); !ok {
		return in, ErrNoPlan
	}
	if in.Original != nil {
		// Undo under the very version that paid the original, even if a version was added since.
		for _, e := range in.Original.Entries {
			for _, p := range plans {
				if e.AffiliateID == affiliateID && p.ID == e.PlanID {
					in.Plan = p
				}
			}
		}
	}
	if in.Parent, err = src.Parent(); err != nil {
		return in, err
	}
	if in.Event, err = inPlanCurrency(src, in.Plan, c); err != nil {
		return in, err
	}

	if needsPlayer(in.Plan, c.Type, in.Original) {
		if in.Player, err = player(src, in, c); err != nil {
			return in, err
		}
	}
	if change, ok := VolumeChangeOf(in); ok {
		if in.Volume, err = src.VolumePeriod(change.Period, in.Plan.ID, change.Instrument); err != nil {
			return in, err
		}
	}
	revenue := c.Type == postback.Revenue || (in.Original != nil && in.Original.Event.Type == postback.Revenue)
	if !in.Plan.HasRevShare() || !revenue {
		return in, nil // the event cannot touch RevShare
	}
	rs, err := src.RevShareEntries()
	if err != nil {
		return in, err
	}
	byID := make(map[string]Plan, len(plans))
	for _, p := range plans {
		byID[p.ID] = p
	}
	in.RevShare = RevShareFrom(rs, byID)
	return in, nil
}

// needsPlayer says whether the event can write or claw back a CPA, the only use of the player's history.
func needsPlayer(p Plan, eventType string, orig *Original) bool {
	return p.HasCPA() && (MovesDeposits(eventType) || (orig != nil && MovesDeposits(orig.Event.Type)))
}

// MovesDeposits says whether an event of the type changes the player's deposits (CPA qualification).
func MovesDeposits(eventType string) bool {
	return eventType == postback.FTD || eventType == postback.Deposit || eventType == postback.FTDAdjustment
}

// player loads the player's conversions (amounts in the plan's currency) and CPA entries.
func player(src Source, in Input, c Recorded) (Player, error) {
	keyEvent := c.ID
	if in.Original != nil {
		keyEvent = in.Original.Event.ID
	}
	// The restatements among the player's events, this one included: a clawback one of them wrote is not final.
	restated := map[string]bool{c.ID: Restates(c.Event)}
	var history []Recorded
	if c.PlayerID != "" {
		all, err := src.PlayerConversions(c.PlayerID)
		if err != nil {
			return Player{}, err
		}
		for _, h := range all {
			if h.ID == c.ID {
				continue
			}
			restated[h.ID] = Restates(h.Event)
			if h.Event, err = inPlanCurrency(src, in.Plan, h); err != nil {
				return Player{}, err
			}
			history = append(history, h)
		}
	} else if in.Original != nil {
		history = []Recorded{{Event: in.Original.Event}}
	}
	cpa, err := CPAStateFrom(CPAKey(in.AffiliateID, in.IntegrationID, c.PlayerID, keyEvent), src.Entry,
		func(eventID string) bool { return restated[eventID] })
	if err != nil {
		return Player{}, err
	}
	return PlayerFrom(history, cpa), nil
}

// inPlanCurrency returns the event with its amount in the plan's currency and the rate used. An amount
// the plan does not look at (a deposit under a CPA without amount rules) is not converted but zeroed, so
// that such a plan needs no FX rate.
func inPlanCurrency(src Source, p Plan, c Recorded) (Event, error) {
	ev := c.Event
	if c.Currency == "" || c.Currency == p.Currency || ev.AmountMinor == 0 {
		return ev, nil
	}
	amountRules := p.HasCPA() && (p.MinFirstDepositMinor > 0 || p.CumulativeDepositMinor > 0)
	if !(ev.Type == postback.Revenue && p.HasRevShare()) && !(MovesDeposits(ev.Type) && amountRules) {
		ev.AmountMinor = 0
		return ev, nil
	}
	rate, err := src.Rate(c.Currency, p.Currency, c.At)
	if err != nil {
		return ev, err
	}
	if ev.AmountMinor, err = Convert(ev.AmountMinor, c.Currency, p.Currency, rate); err != nil {
		return ev, err
	}
	ev.FXRate = c.Currency + "/" + p.Currency + "=" + FormatDecimal(rate, RateDecimals)
	return ev, nil
}
