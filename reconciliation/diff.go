package reconciliation

import (
	"slices"
	"time"

	"github.com/affrelay/affrelay/postback"
)

// Statuses of a compared player-day.
const (
	// StatusMatched: real time recorded exactly what the file says.
	StatusMatched = "matched"
	// StatusCorrected: real time recorded the player-day differently; the difference was written.
	StatusCorrected = "corrected"
	// StatusMissingInRealTime: real time recorded nothing for the player-day; the file's figures were written.
	StatusMissingInRealTime = "missing_in_realtime"
	// StatusMissingInFile: real time recorded the player-day but the file lacks it. Flagged, never reversed.
	StatusMissingInFile = "missing_in_file"
	// StatusUnknownPlayer: neither real time nor the file names an affiliate for a player never seen.
	StatusUnknownPlayer = "unknown_player"
	// StatusUnattributed: the player belongs to no registered affiliate (the file's affiliate_id is unknown).
	StatusUnattributed = "unattributed"
	// StatusCurrencyMismatch: real time recorded the player-day in another currency; nothing is written.
	StatusCurrencyMismatch = "currency_mismatch"
)

// Statuses lists every status, in report order.
var Statuses = []string{StatusMatched, StatusCorrected, StatusMissingInRealTime, StatusMissingInFile,
	StatusUnknownPlayer, StatusUnattributed, StatusCurrencyMismatch}

// Event is one recorded conversion of a player, as real time (or an earlier reconciliation) wrote it.
type Event struct {
	ID          string
	Type        string
	At          time.Time
	AmountMinor int64
	Currency    string
	// OriginalID is the event a chargeback, refund or reversal undoes.
	OriginalID string
	// FromReconciliation marks a correction written by an earlier reconciliation.
	FromReconciliation bool
	// VolumeLots (hundredths of a lot) and Instrument are a trade's.
	VolumeLots int64
	Instrument string
}

// Day is what real time recorded for one player on one UTC day, net of undone events.
type Day struct {
	Events     int
	Currencies []string
	// HasFTD, FTDMinor and FTDEventID describe a standing first deposit made that day.
	HasFTD                bool
	FTDMinor              int64
	FTDEventID            string
	FTDFromReconciliation bool
	DepositsMinor         int64 // first deposit included
	NGRMinor              int64
	// VolumeLots sums the day's trades (hundredths of a lot); Instruments lists their classes ("" for none).
	VolumeLots  int64
	Instruments []string
}

// History is one player's real-time record by day.
type History struct {
	Days map[string]*Day
	// HasFTD says the player made a first deposit on some day, even one charged back since: a player has one.
	// One a reconciliation reversed (a later file withdrew it) does not count.
	HasFTD bool
	// FTD is the player's first deposit when it stands (not undone), nil otherwise.
	FTD *StandingFTD
}

// StandingFTD is a player's first deposit as it stands: its event and the amount with every restatement
// (ftd adjustment) of it, whatever day a restatement was recorded on.
type StandingFTD struct {
	EventID     string
	AmountMinor int64
}

// Summarize sums a player's events by UTC day. A chargeback, refund or reversal removes the event it undoes
// from that event's day (the day the money moved), as the commission engine treats it as never counted.
func Summarize(events []Event) History {
	undone, withdrawn := map[string]bool{}, map[string]bool{}
	for _, e := range events {
		if isNegative(e.Type) && e.OriginalID != "" {
			undone[e.OriginalID] = true
			withdrawn[e.OriginalID] = withdrawn[e.OriginalID] || e.FromReconciliation
		}
	}
	h := History{Days: map[string]*Day{}}
	var ftdAt time.Time
	adjusted := map[string]int64{}
	for _, e := range events {
		if e.Type == postback.FTD && !withdrawn[e.ID] {
			h.HasFTD = true // a first deposit a file withdrew never happened: the player may have one again
		}
		if isNegative(e.Type) || e.Type == postback.Registration || undone[e.ID] || (e.Type == postback.FTDAdjustment && undone[e.OriginalID]) {
			continue // an adjustment of an undone first deposit went with it
		}
		key := e.At.UTC().Format(time.DateOnly)
		d := h.Days[key]
		if d == nil {
			d = &Day{}
			h.Days[key] = d
		}
		d.Events++
		if e.Currency != "" && !slices.Contains(d.Currencies, e.Currency) {
			d.Currencies = append(d.Currencies, e.Currency)
			slices.Sort(d.Currencies)
		}
		switch e.Type {
		case postback.FTD:
			d.HasFTD, d.FTDMinor, d.FTDEventID, d.FTDFromReconciliation = true, d.FTDMinor+e.AmountMinor, e.ID, e.FromReconciliation
			d.DepositsMinor += e.AmountMinor
			if h.FTD == nil || e.At.Before(ftdAt) { // the earliest is the first, as the engine takes it
				h.FTD, ftdAt = &StandingFTD{EventID: e.ID, AmountMinor: e.AmountMinor}, e.At
			}
		case postback.FTDAdjustment: // its day's money: on the first deposit's day, or the day a file moved it to
			adjusted[e.OriginalID] += e.AmountMinor
			if d.HasFTD && d.FTDEventID == e.OriginalID {
				d.FTDMinor += e.AmountMinor
			}
			d.DepositsMinor += e.AmountMinor
		case postback.Deposit:
			d.DepositsMinor += e.AmountMinor
		case postback.Revenue:
			d.NGRMinor += e.AmountMinor
		case postback.Trade:
			d.VolumeLots += e.VolumeLots
			if !slices.Contains(d.Instruments, e.Instrument) {
				d.Instruments = append(d.Instruments, e.Instrument)
				slices.Sort(d.Instruments)
			}
		}
	}
	if h.FTD != nil {
		h.FTD.AmountMinor += adjusted[h.FTD.EventID]
	}
	return h
}

func isNegative(t string) bool {
	return t == postback.Chargeback || t == postback.Refund || t == postback.Reversal
}

// Player is who a player-day's corrections would belong to.
type Player struct {
	// Known says real time has seen the player in this integration.
	Known bool
	// AffiliateID is the registered affiliate the player is attributed to: real time's first one, else the
	// file's affiliate_id when it names a registered affiliate; "" when none.
	AffiliateID string
	// FileHasFirstDeposit says the file gives the player a first deposit on some day (a file has at most one).
	FileHasFirstDeposit bool
}

// Correction is one correcting event to record through the commission engine.
type Correction struct {
	Type        string // ftd, ftd_adjustment, deposit, revenue, trade or reversal
	AmountMinor int64
	// VolumeLots (hundredths of a lot, negative to take lots away) and Instrument are a trade correction's.
	VolumeLots int64
	Instrument string
	// OriginalEventID is the event a reversal undoes, the first deposit an ftd adjustment restates.
	OriginalEventID string
}

// Result is the comparison of one player-day.
type Result struct {
	Status      string
	RealTime    Day
	Corrections []Correction
	// DepositsDeltaMinor and NGRDeltaMinor are file minus real time, in the file's currency.
	DepositsDeltaMinor int64
	NGRDeltaMinor      int64
	// VolumeDeltaLots is file minus real time, in hundredths of a lot; 0 when the file states no volume.
	VolumeDeltaLots int64
}

// Compare compares the file's row for a player-day (nil when the file lacks it) with real time's record of
// that day and says what to write so that real time ends equal to the file:
//   - a first deposit real time never saw is recorded as an ftd (it may qualify a CPA);
//   - a first deposit restated to another amount, or placed on another day than real time's, is an ftd
//     adjustment of the standing first deposit by the difference, recorded on the file's day (the first
//     deposit keeps its event and now stands at the file's amount; the engine re-checks the CPA once). The
//     money real time recorded as the first deposit on its day stays that day's deposit;
//   - a first deposit an earlier reconciliation recorded on a day the file now shows without one is reversed,
//     unless the file gives the player's first deposit on another day (then it moved, as above);
//   - the remaining deposit difference is a deposit (negative when the file shows less), which feeds CPA
//     qualification; an NGR difference is a revenue event (RevShare adjusts by it);
//   - a volume difference, when the file states a volume, is a trade of that many lots (negative when the
//     file shows less; a volume plan adjusts by it), of the day's instrument class when its trades had one.
//
// Since real time includes earlier reconciliations, a restatement corrects by the difference again.
func Compare(file *Row, h History, day string, p Player) Result {
	var rt Day
	if d := h.Days[day]; d != nil {
		rt = *d
	}
	res := Result{RealTime: rt}
	if file == nil {
		res.Status = StatusMissingInFile
		return res
	}
	for _, c := range rt.Currencies {
		if c != file.Currency {
			res.Status = StatusCurrencyMismatch
			return res
		}
	}
	res.DepositsDeltaMinor = file.DepositsMinor - rt.DepositsMinor
	res.NGRDeltaMinor = file.NGRMinor - rt.NGRMinor
	if file.HasVolume {
		res.VolumeDeltaLots = file.VolumeLots - rt.VolumeLots
	}
	switch {
	case p.AffiliateID == "" && !p.Known && file.AffiliateID == "":
		res.Status = StatusUnknownPlayer
		return res
	case p.AffiliateID == "":
		res.Status = StatusUnattributed
		return res
	}

	deposits := rt.DepositsMinor
	if file.HasFirstDeposit && !h.HasFTD {
		res.Corrections = append(res.Corrections, Correction{Type: postback.FTD, AmountMinor: file.FirstDepositMinor})
		deposits += file.FirstDepositMinor
	}
	if file.HasFirstDeposit && h.FTD != nil && file.FirstDepositMinor != h.FTD.AmountMinor {
		d := file.FirstDepositMinor - h.FTD.AmountMinor
		res.Corrections = append(res.Corrections, Correction{Type: postback.FTDAdjustment, AmountMinor: d, OriginalEventID: h.FTD.EventID})
		deposits += d
	}
	if !file.HasFirstDeposit && rt.HasFTD && rt.FTDFromReconciliation && !p.FileHasFirstDeposit {
		res.Corrections = append(res.Corrections, Correction{Type: postback.Reversal, OriginalEventID: rt.FTDEventID})
		deposits -= rt.FTDMinor
	}
	if d := file.DepositsMinor - deposits; d != 0 {
		res.Corrections = append(res.Corrections, Correction{Type: postback.Deposit, AmountMinor: d})
	}
	if res.NGRDeltaMinor != 0 {
		res.Corrections = append(res.Corrections, Correction{Type: postback.Revenue, AmountMinor: res.NGRDeltaMinor})
	}
	if res.VolumeDeltaLots != 0 {
		// The file has no class: the day's one class if its trades had one, else none (a plan's * rate).
		c := Correction{Type: postback.Trade, VolumeLots: res.VolumeDeltaLots}
		if len(rt.Instruments) == 1 {
			c.Instrument = rt.Instruments[0]
		}
		res.Corrections = append(res.Corrections, c)
	}
	switch {
	case len(res.Corrections) == 0:
		res.Status = StatusMatched
	case rt.Events == 0:
		res.Status = StatusMissingInRealTime
	default:
		res.Status = StatusCorrected
	}
	return res
}

// CorrectionAt is when a correction of a day is recorded: the day's start, the ftd first, so it is the first
// deposit of the day as the engine orders deposits.
func CorrectionAt(day time.Time, c Correction) time.Time {
	offset := map[string]time.Duration{postback.FTD: 0, postback.Deposit: time.Second, postback.Revenue: 2 * time.Second, postback.Reversal: 3 * time.Second, postback.Trade: 4 * time.Second, postback.FTDAdjustment: 5 * time.Second}
	return day.Add(offset[c.Type])
}
