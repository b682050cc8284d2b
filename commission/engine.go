package commission

import (
	"strconv"
	"time"

	"github.com/affrelay/affrelay/postback"
)

// Ledger entry kinds.
const (
	KindCPA          = "cpa"
	KindCPAClawback  = "cpa_clawback"
	KindRevShare     = "revshare"
	KindSubAffiliate = "sub_affiliate"
	// KindVolume is a volume plan's per-lot commission (and its reversal's adjustment).
	KindVolume = "volume"
)

// Event is a recorded conversion as the engine sees it. AmountMinor is already in the plan's currency
// (see Convert); FXRate is the rate used, "" when the event was in the plan's currency.
type Event struct {
	ID          string
	Type        string
	PlayerID    string
	AmountMinor int64
	FXRate      string
	At          time.Time
	// VolumeLots (hundredths of a lot) and Instrument are a trade's.
	VolumeLots int64
	Instrument string
	// FromReconciliation marks a correction a reconciliation file recorded (see Restates).
	FromReconciliation bool
}

// Deposit is one of the player's earlier deposits (ftd or deposit), in the plan's currency.
type Deposit struct {
	EventID     string
	First       bool // an ftd
	Undone      bool // charged back, refunded or reversed: it no longer counts, but an undone ftd stays the first
	AmountMinor int64
	At          time.Time
}

// Player is what is known of the event's player before this event.
type Player struct {
	// RegisteredAt is the player's registration, or first sight when no registration was sent (Registered
	// false); zero when the player was never seen before.
	RegisteredAt time.Time
	Registered   bool
	Deposits     []Deposit
	CPAState
}

// CPAState is where the player's CPAs (with this affiliate and integration) stand. A clawback caused by a
// restatement (see Restates) is not final: the restatement says the player never qualified,
// so a later restatement that qualifies pays again. Each such qualification is its own CPA, keyed by its
// number in the sequence, so it is written exactly once and file 1 then file 2 ends as file 2 alone.
type CPAState struct {
	// CPA is the CPA that stands (written and not clawed back), nil when none does.
	CPA *Entry
	// ClawedBack is set when a CPA was clawed back for good (a chargeback, refund or reversal made the player
	// no longer qualify): a player qualifies at most once.
	ClawedBack bool
	// Requalifications counts the CPAs restatements clawed back: the number of the next CPA.
	Requalifications int
}

// RevShareState is the affiliate's RevShare so far: the NGR of every period and what was written for it.
type RevShareState struct {
	Periods []PeriodNGR
	// WrittenMinor is the sum of every RevShare entry written so far.
	WrittenMinor int64
}

// Original is the earlier event a chargeback, refund or reversal undoes, and the entries it earned.
type Original struct {
	Event   Event
	Entries []Entry
}

// Parent is the affiliate's parent, who earns ShareBP basis points of every commission entry of the child.
type Parent struct {
	AffiliateID string
	ShareBP     int64
}

// Input is everything Calculate needs.
type Input struct {
	AffiliateID   string
	IntegrationID string
	// Plan is the version in force at the event or, for a negative event, at the original event.
	Plan     Plan
	Parent   *Parent
	Event    Event
	Player   Player
	RevShare RevShareState
	// Volume is the volume period the event changes (see VolumeChangeOf), as recorded before it.
	Volume   VolumePeriod
	Original *Original // set for chargeback, refund and reversal when the original event is known
}

// Entry is one ledger entry to write. SourceKey names what earned it; writing a key a second time must be a
// no-op, which is what makes every calculation safe to repeat.
type Entry struct {
	SourceKey   string
	Kind        string
	AffiliateID string
	AmountMinor int64
	Currency    string
	PlanID      string
	EventID     string
	PlayerID    string
	At          time.Time
	FXRate      string
	// Period and BaseMinor are set on RevShare and volume entries: the month and the NGR (signed, plan
	// currency) or the lots (signed, hundredths of a lot) added.
	Period    string
	BaseMinor int64
	// Instrument is the volume rate a volume entry's lots count under (an instrument class or AnyInstrument).
	Instrument string
	// OriginalKey links an adjustment to the entry it adjusts, a sub-affiliate entry to the child's entry.
	OriginalKey string
}

// Calculate returns the entries the event earns the affiliate. It is deterministic and keyed: a retry
// computes entries whose keys are already written, and writing an existing key must do nothing.
func Calculate(in Input) []Entry {
	if in.Original != nil {
		in.Event.PlayerID = in.Original.Event.PlayerID // an adjustment belongs to the original's player
	}
	var out []Entry
	switch in.Event.Type {
	case postback.FTD, postback.Deposit:
		out = cpaEntries(in)
	case postback.FTDAdjustment:
		out = ftdAdjustmentEntries(in)
	case postback.Revenue:
		out = revShareEntry(in, in.Event.AmountMinor, PeriodOf(in.Event.At), "")
	case postback.Trade:
		out = volumeEntry(in)
	case postback.Chargeback, postback.Refund, postback.Reversal:
		out = adjustmentEntries(in)
	}
	return out
}

// SubAffiliateEntry is the parent's share of a child's entry, written only together with the child entry
// (so a retry, which writes no child entry, writes no parent entry either). ok is false when there is none.
func SubAffiliateEntry(parent *Parent, child Entry) (Entry, bool) {
	if parent == nil || parent.ShareBP <= 0 {
		return Entry{}, false
	}
	amount := Percent(child.AmountMinor, parent.ShareBP)
	if amount == 0 {
		return Entry{}, false
	}
	p := child
	p.SourceKey, p.Kind, p.AffiliateID, p.AmountMinor = "sub:"+child.SourceKey, KindSubAffiliate, parent.AffiliateID, amount
	p.Period, p.BaseMinor, p.Instrument, p.OriginalKey = "", 0, "", child.SourceKey
	return p, true
}

// CPAKey is the key of a player's first CPA: one per player, affiliate and integration. An event with no
// player id can only be its own player.
func CPAKey(affiliateID, integrationID, playerID, eventID string) string {
	key := "cpa:" + affiliateID + ":" + integrationID + ":"
	if playerID != "" {
		return key + "player:" + playerID
	}
	return key + "event:" + eventID
}

// RequalifiedCPAKey is the key of the player's CPA after n CPAs were clawed back by restated first deposits
// (n = 0: firstKey itself).
func RequalifiedCPAKey(firstKey string, n int) string {
	if n == 0 {
		return firstKey
	}
	return firstKey + ":requalified:" + strconv.Itoa(n)
}

// ClawbackKey is the key of the clawback of the CPA written under cpaKey: a CPA is clawed back at most once.
func ClawbackKey(cpaKey string) string {
	return "clawback:" + cpaKey
}

func (in Input) entry(kind string, amount int64) Entry {
	return Entry{
		Kind: kind, AffiliateID: in.AffiliateID, AmountMinor: amount, Currency: in.Plan.Currency, PlanID: in.Plan.ID,
		EventID: in.Event.ID, PlayerID: in.Event.PlayerID, At: in.Event.At, FXRate: in.Event.FXRate,
	}
}

// cpaEntries pays the CPA a deposit qualifies the player for. A reconciliation's deposit correction that takes
// a player with a CPA below the plan's rules (a negative one: the operator's books show less) claws it back,
// a restatement, so not final.
func cpaEntries(in Input) []Entry {
	if !in.Plan.HasCPA() || in.Player.ClawedBack || (in.Player.CPA != nil && !Restates(in.Event)) {
		return nil
	}
	deposits := append(append([]Deposit(nil), in.Player.Deposits...), Deposit{
		EventID: in.Event.ID, First: in.Event.Type == postback.FTD, AmountMinor: in.Event.AmountMinor, At: in.Event.At,
	})
	registered := in.Player.RegisteredAt
	if registered.IsZero() || (in.Player.RegisteredAt.After(in.Event.At) && !in.Player.Registered) {
		registered = in.Event.At // first sight is this event
	}
	return cpaChange(in, Qualifies(in.Plan, registered, deposits))
}

// Restates says whether an event restates the player's deposits after the fact: a reconciliation's
// correction (an ftd adjustment, a negative deposit, the reversal of a first deposit a file no longer
// shows). A clawback it causes is not final.
func Restates(e Event) bool {
	return e.FromReconciliation || e.Type == postback.FTDAdjustment
}

func cpaEntry(in Input) Entry {
	e := in.entry(KindCPA, in.Plan.CPAMinor)
	e.SourceKey = RequalifiedCPAKey(CPAKey(in.AffiliateID, in.IntegrationID, in.Event.PlayerID, in.Event.ID), in.Player.Requalifications)
	return e
}

// clawbackEntry takes back the player's CPA. Its key is the CPA's, so a CPA is clawed back at most once.
func clawbackEntry(in Input, cpa *Entry) Entry {
	e := in.entry(KindCPAClawback, -cpa.AmountMinor)
	e.SourceKey, e.Currency, e.PlanID, e.OriginalKey = ClawbackKey(cpa.SourceKey), cpa.Currency, cpa.PlanID, cpa.SourceKey
	return e
}

// ftdAdjustmentEntries re-checks CPA qualification once, with the first deposit changed by the event's
// amount (the player's deposits before it do not include it): a player who qualifies now and has no CPA
// standing earns one (again, when an earlier restatement clawed one back), one who had a CPA and no longer
// qualifies is clawed back. A clawback for a chargeback, refund or reversal stays final.
func ftdAdjustmentEntries(in Input) []Entry {
	if !in.Plan.HasCPA() || in.Player.ClawedBack {
		return nil
	}
	deposits := append([]Deposit(nil), in.Player.Deposits...)
	first := firstDeposit(deposits)
	if first < 0 {
		return nil // no first deposit to adjust
	}
	deposits[first].AmountMinor += in.Event.AmountMinor
	return cpaChange(in, Qualifies(in.Plan, in.Player.RegisteredAt, deposits))
}

// cpaChange is what a player's qualification after the event writes: a CPA when none stands, a clawback of
// the one that stands when the player no longer qualifies, else nothing.
func cpaChange(in Input, qualifies bool) []Entry {
	switch {
	case qualifies && in.Player.CPA == nil:
		return []Entry{cpaEntry(in)}
	case !qualifies && in.Player.CPA != nil:
		return []Entry{clawbackEntry(in, in.Player.CPA)}
	}
	return nil
}

// firstDeposit is the index of the player's first deposit (the earliest ftd), -1 when there is none.
func firstDeposit(deposits []Deposit) int {
	first := -1
	for i, d := range deposits {
		if d.First && (first < 0 || d.At.Before(deposits[first].At)) {
			first = i
		}
	}
	return first
}

// Qualifies applies the plan's CPA rules to the player's standing deposits. A plan without rules pays on the
// first deposit (ftd); a minimum first deposit needs the ftd to reach it; a cumulative rule needs the
// deposits within the window after registration to add up to it. Either rule qualifies.
func Qualifies(p Plan, registeredAt time.Time, deposits []Deposit) bool {
	var first *Deposit
	if i := firstDeposit(deposits); i >= 0 {
		first = &deposits[i]
	}
	var cumulative int64
	for _, d := range deposits {
		inWindow := p.WindowDays == 0 || (!d.At.Before(registeredAt) && d.At.Before(registeredAt.AddDate(0, 0, p.WindowDays)))
		if inWindow && !d.Undone {
			cumulative += d.AmountMinor
		}
	}
	firstStands := first != nil && !first.Undone
	if p.MinFirstDepositMinor == 0 && p.CumulativeDepositMinor == 0 {
		return firstStands
	}
	if p.MinFirstDepositMinor > 0 && firstStands && first.AmountMinor >= p.MinFirstDepositMinor {
		return true
	}
	return p.CumulativeDepositMinor > 0 && cumulative >= p.CumulativeDepositMinor
}

// revShareEntry adds ngr to a period and writes the difference between what all periods now earn and what
// was written before. The sum of RevShare entries therefore always equals RevShareTotal of every recorded
// period, whatever order events arrive in, and a month-end needs no true-up.
func revShareEntry(in Input, ngr int64, period, originalKey string) []Entry {
	if !in.Plan.HasRevShare() {
		return nil
	}
	periods := append([]PeriodNGR(nil), in.RevShare.Periods...)
	found := false
	for i, p := range periods {
		if p.Period == period && p.Plan.ID == in.Plan.ID {
			periods[i].NGR += ngr
			found = true
		}
	}
	if !found {
		periods = append(periods, PeriodNGR{Period: period, Plan: in.Plan, NGR: ngr})
	}
	e := in.entry(KindRevShare, RevShareTotal(periods)-in.RevShare.WrittenMinor)
	e.SourceKey = "revshare:" + in.AffiliateID + ":" + in.IntegrationID + ":event:" + in.Event.ID
	e.Period, e.BaseMinor, e.OriginalKey = period, ngr, originalKey
	return []Entry{e}
}

// adjustmentEntries undo what the original event earned: a revenue event's NGR leaves its period; a
// deposit leaves the player's standing deposits, and a CPA the player no longer qualifies for is clawed back.
func adjustmentEntries(in Input) []Entry {
	if in.Original == nil {
		return nil
	}
	orig := in.Original.Event
	switch orig.Type {
	case postback.Trade:
		return volumeEntry(in)
	case postback.Revenue:
		for _, e := range in.Original.Entries {
			if e.Kind == KindRevShare && e.AffiliateID == in.AffiliateID {
				return revShareEntry(in, -e.BaseMinor, e.Period, e.SourceKey)
			}
		}
	case postback.FTD, postback.Deposit:
		cpa := in.Player.CPA
		if cpa == nil || in.Player.ClawedBack {
			return nil
		}
		deposits := make([]Deposit, 0, len(in.Player.Deposits))
		for _, d := range in.Player.Deposits {
			if d.EventID == orig.ID {
				if in.Event.FromReconciliation {
					continue // withdrawn by a file: it never happened (see PlayerFrom)
				}
				d.Undone = true
			}
			deposits = append(deposits, d)
		}
		if Qualifies(in.Plan, in.Player.RegisteredAt, deposits) {
			return nil
		}
		return []Entry{clawbackEntry(in, cpa)}
	}
	return nil
}
