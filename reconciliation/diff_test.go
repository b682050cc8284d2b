package reconciliation

import (
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/affrelay/affrelay/postback"
)

func at(day string, hour int) time.Time {
	t, _ := time.Parse(time.DateOnly, day)
	return t.Add(time.Duration(hour) * time.Hour)
}

func TestCompare(t *testing.T) {
	const day = "2026-10-05"
	known := Player{Known: true, AffiliateID: "aff_1"}
	dep := func(id string, amount int64) Event {
		return Event{ID: id, Type: postback.Deposit, At: at(day, 10), AmountMinor: amount, Currency: "USD"}
	}
	ftd := func(id string, amount int64, recon bool) Event {
		return Event{ID: id, Type: postback.FTD, At: at(day, 9), AmountMinor: amount, Currency: "USD", FromReconciliation: recon}
	}
	rev := func(id string, amount int64) Event {
		return Event{ID: id, Type: postback.Revenue, At: at(day, 23), AmountMinor: amount, Currency: "USD"}
	}
	row := func(ftd int64, hasFTD bool, deposits, ngr int64) *Row {
		return &Row{Date: day, PlayerID: "p1", Currency: "USD", HasFirstDeposit: hasFTD, FirstDepositMinor: ftd, DepositsMinor: deposits, NGRMinor: ngr}
	}
	tests := []struct {
		name   string
		file   *Row
		events []Event
		player Player
		status string
		want   []Correction
	}{
		{"matched", row(5000, true, 7000, 1200), []Event{ftd("e1", 5000, false), dep("e2", 2000), rev("e3", 1200)}, known, StatusMatched, nil},
		{"over: the file shows more", row(0, false, 3000, 1500), []Event{dep("e2", 2000), rev("e3", 1200)}, known, StatusCorrected,
			[]Correction{{Type: postback.Deposit, AmountMinor: 1000}, {Type: postback.Revenue, AmountMinor: 300}}},
		{"under: the file shows less", row(0, false, 1500, 1000), []Event{dep("e2", 2000), rev("e3", 1200)}, known, StatusCorrected,
			[]Correction{{Type: postback.Deposit, AmountMinor: -500}, {Type: postback.Revenue, AmountMinor: -200}}},
		{"missing FTD", row(5000, true, 5000, 0), []Event{rev("e3", 0)}, known, StatusCorrected,
			[]Correction{{Type: postback.FTD, AmountMinor: 5000}}},
		{"a first deposit the file places on another day: the standing one is restated to the file's amount there", row(5000, true, 5000, 0),
			[]Event{{ID: "e0", Type: postback.FTD, At: at("2026-10-01", 1), AmountMinor: 100, Currency: "USD"}}, known, StatusMissingInRealTime,
			[]Correction{{Type: postback.FTDAdjustment, AmountMinor: 4900, OriginalEventID: "e0"}, {Type: postback.Deposit, AmountMinor: 100}}},
		{"a first deposit moved to this day earlier, and its restatement there, stand", row(5000, true, 5000, 0),
			[]Event{{ID: "e0", Type: postback.FTD, At: at("2026-10-01", 1), AmountMinor: 100, Currency: "USD"},
				{ID: "a1", Type: postback.FTDAdjustment, At: at(day, 0), AmountMinor: 4900, Currency: "USD", OriginalID: "e0", FromReconciliation: true},
				{ID: "d1", Type: postback.Deposit, At: at(day, 0), AmountMinor: 100, Currency: "USD", FromReconciliation: true}},
			known, StatusMatched, nil},
		{"the day real time had the first deposit on keeps its money as a deposit", row(0, false, 100, 0),
			[]Event{ftd("e0", 100, false), {ID: "a1", Type: postback.FTDAdjustment, At: at("2026-10-07", 0), AmountMinor: 4900, Currency: "USD", OriginalID: "e0", FromReconciliation: true}},
			known, StatusMatched, nil},
		{"a first deposit a reconciliation recorded, moved by the file to another day: not reversed", row(0, false, 5000, 0),
			[]Event{ftd("r1", 5000, true)}, Player{Known: true, AffiliateID: "aff_1", FileHasFirstDeposit: true}, StatusMatched, nil},
		{"missing in real time: a player never seen, attributed by the file", row(5000, true, 8000, -300), nil,
			Player{AffiliateID: "aff_1"}, StatusMissingInRealTime,
			[]Correction{{Type: postback.FTD, AmountMinor: 5000}, {Type: postback.Deposit, AmountMinor: 3000}, {Type: postback.Revenue, AmountMinor: -300}}},
		{"missing in file", nil, []Event{dep("e2", 2000)}, known, StatusMissingInFile, nil},
		{"unknown player", row(0, false, 100, 0), nil, Player{}, StatusUnknownPlayer, nil},
		{"unattributed: the file names an unregistered affiliate", &Row{Date: day, PlayerID: "p1", AffiliateID: "nobody", Currency: "USD", DepositsMinor: 100},
			nil, Player{}, StatusUnattributed, nil},
		{"negative NGR", row(0, false, 0, -2500), []Event{rev("e3", 1000)}, known, StatusCorrected,
			[]Correction{{Type: postback.Revenue, AmountMinor: -3500}}},
		{"currency mismatch", &Row{Date: day, PlayerID: "p1", Currency: "EUR", DepositsMinor: 2000}, []Event{dep("e2", 2000)}, known, StatusCurrencyMismatch, nil},
		{"charged-back deposit no longer counts", row(0, false, 2000, 0),
			[]Event{dep("e2", 2000), dep("e4", 700), {ID: "e5", Type: postback.Chargeback, At: at("2026-10-09", 1), OriginalID: "e4"}}, known, StatusMatched, nil},
		{"restatement: the file again, after an earlier reconciliation wrote its figures", row(0, false, 4000, 900),
			[]Event{dep("e2", 2000), {ID: "r1", Type: postback.Deposit, At: at(day, 0), AmountMinor: 1000, Currency: "USD", FromReconciliation: true},
				rev("e3", 1200), {ID: "r2", Type: postback.Revenue, At: at(day, 0), AmountMinor: 300, Currency: "USD", FromReconciliation: true}},
			known, StatusCorrected, []Correction{{Type: postback.Deposit, AmountMinor: 1000}, {Type: postback.Revenue, AmountMinor: -600}}},
		{"restatement withdraws a first deposit an earlier reconciliation recorded", row(0, false, 1000, 0),
			[]Event{ftd("r1", 5000, true), dep("e2", 1000)}, known, StatusCorrected,
			[]Correction{{Type: postback.Reversal, OriginalEventID: "r1"}}},
		{"a first deposit a file withdrew (reversed) is recorded anew when a file shows it again", row(5000, true, 5000, 0),
			[]Event{ftd("r1", 5000, true), {ID: "rv", Type: postback.Reversal, At: at(day, 0), OriginalID: "r1", FromReconciliation: true}},
			known, StatusMissingInRealTime, []Correction{{Type: postback.FTD, AmountMinor: 5000}}},
		{"a first deposit charged back stays the first: the money shown again is a deposit", row(5000, true, 5000, 0),
			[]Event{ftd("e1", 5000, false), {ID: "cb", Type: postback.Chargeback, At: at(day, 12), OriginalID: "e1"}},
			known, StatusMissingInRealTime, []Correction{{Type: postback.Deposit, AmountMinor: 5000}}},
		{"a real-time first deposit is never reversed by a file", row(0, false, 5000, 0), []Event{ftd("e1", 5000, false)}, known, StatusMatched, nil},
		{"a first deposit restated: an ftd adjustment by the difference, the deposits follow it", row(8000, true, 9000, 0),
			[]Event{ftd("e1", 5000, false), dep("e2", 1000)}, known, StatusCorrected,
			[]Correction{{Type: postback.FTDAdjustment, AmountMinor: 3000, OriginalEventID: "e1"}}},
		{"a restated first deposit restated again corrects by the new difference", row(4000, true, 6000, 0),
			[]Event{ftd("e1", 5000, false), dep("e2", 1000), {ID: "a1", Type: postback.FTDAdjustment, At: at(day, 0), AmountMinor: 3000, Currency: "USD", OriginalID: "e1", FromReconciliation: true}},
			known, StatusCorrected, []Correction{{Type: postback.FTDAdjustment, AmountMinor: -4000, OriginalEventID: "e1"}, {Type: postback.Deposit, AmountMinor: 1000}}},
		{"an adjustment leaves with the first deposit it restated", row(0, false, 1000, 0),
			[]Event{ftd("e1", 5000, false), dep("e2", 1000), {ID: "a1", Type: postback.FTDAdjustment, At: at(day, 0), AmountMinor: 3000, Currency: "USD", OriginalID: "e1"},
				{ID: "cb", Type: postback.Chargeback, At: at("2026-10-09", 1), OriginalID: "e1"}}, known, StatusMatched, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := Compare(tt.file, Summarize(tt.events), day, tt.player)
			require.Equal(t, tt.status, got.Status)
			require.Equal(t, tt.want, got.Corrections)
		})
	}
}

// Applying the corrections of one file and then another leaves real time where the second alone would.
func TestCompareRestatementEqualsSecondFileAlone(t *testing.T) {
	const day = "2026-10-05"
	base := []Event{{ID: "e1", Type: postback.Deposit, At: at(day, 8), AmountMinor: 2000, Currency: "USD"}}
	apply := func(events []Event, file *Row, n string) []Event {
		res := Compare(file, Summarize(events), day, Player{Known: true, AffiliateID: "a"})
		for i, c := range res.Corrections {
			events = append(events, Event{ID: n + string(rune('a'+i)), Type: c.Type, At: at(day, 0), AmountMinor: c.AmountMinor,
				Currency: "USD", OriginalID: c.OriginalEventID, FromReconciliation: true})
		}
		return events
	}
	file1 := &Row{Date: day, Currency: "USD", HasFirstDeposit: true, FirstDepositMinor: 500, DepositsMinor: 9000, NGRMinor: 700}
	file2 := &Row{Date: day, Currency: "USD", DepositsMinor: 2500, NGRMinor: -100}
	fresh := []Event{{ID: "f1", Type: postback.Deposit, At: at(day, 8), AmountMinor: 2000, Currency: "USD"}}
	// base has no FTD anywhere, so file1 records one, which file2 withdraws again.
	both := Summarize(apply(apply(base, file1, "x"), file2, "y")).Days[day]
	alone := Summarize(apply(fresh, file2, "z")).Days[day]
	require.Equal(t, alone.DepositsMinor, both.DepositsMinor)
	require.Equal(t, alone.NGRMinor, both.NGRMinor)
	require.Equal(t, alone.HasFTD, both.HasFTD)
	require.Equal(t, StatusMatched, Compare(file2, Summarize(apply(apply(base, file1, "x"), file2, "y")), day, Player{Known: true, AffiliateID: "a"}).Status)
}

// A first deposit restated twice ends where the second file alone puts it.
func TestCompareFTDRestatementEqualsSecondFileAlone(t *testing.T) {
	const day = "2026-10-05"
	p := Player{Known: true, AffiliateID: "a"}
	apply := func(events []Event, file *Row, n string) []Event {
		for i, c := range Compare(file, Summarize(events), day, p).Corrections {
			events = append(events, Event{ID: n + string(rune('a'+i)), Type: c.Type, At: at(day, 0), AmountMinor: c.AmountMinor,
				Currency: "USD", OriginalID: c.OriginalEventID, FromReconciliation: true})
		}
		return events
	}
	realTime := []Event{{ID: "f", Type: postback.FTD, At: at(day, 8), AmountMinor: 5000, Currency: "USD"}}
	file1 := &Row{Date: day, Currency: "USD", HasFirstDeposit: true, FirstDepositMinor: 12000, DepositsMinor: 15000}
	file2 := &Row{Date: day, Currency: "USD", HasFirstDeposit: true, FirstDepositMinor: 7000, DepositsMinor: 7000}
	both := apply(apply(realTime, file1, "x"), file2, "y")
	alone := apply(realTime, file2, "z")
	b, a := *Summarize(both).Days[day], *Summarize(alone).Days[day]
	b.Events, a.Events = 0, 0 // file 1's corrections are events too
	require.Equal(t, a, b)
	require.Equal(t, int64(7000), b.FTDMinor)
	require.Equal(t, StatusMatched, Compare(file2, Summarize(both), day, p).Status)
}

// TestCompareVolume: a file that states a volume corrects the player-day's lots by the difference, as a
// trade of the day's one class (none when its trades had several or none); a file that states none leaves
// real time's trades alone; an earlier correction counts, so a restatement corrects by the difference again.
func TestCompareVolume(t *testing.T) {
	const day = "2026-11-02"
	known := Player{Known: true, AffiliateID: "aff_fx"}
	trade := func(id string, lots int64, instrument string, recon bool) Event {
		return Event{ID: id, Type: postback.Trade, At: at(day, 10), VolumeLots: lots, Instrument: instrument, FromReconciliation: recon}
	}
	volume := func(lots int64) *Row {
		return &Row{Date: day, PlayerID: "c1", Currency: "USD", HasVolume: true, VolumeLots: lots}
	}
	for _, c := range []struct {
		name   string
		file   *Row
		events []Event
		status string
		want   []Correction
		delta  int64
	}{
		{"matched", volume(6000), []Event{trade("t1", 2500, "fx", false), trade("t2", 3500, "fx", false)}, StatusMatched, nil, 0},
		{"more lots in the file, one class", volume(6250), []Event{trade("t1", 6000, "fx", false)}, StatusCorrected,
			[]Correction{{Type: postback.Trade, VolumeLots: 250, Instrument: "fx"}}, 250},
		{"fewer lots, two classes: no class", volume(5000), []Event{trade("t1", 4000, "fx", false), trade("t2", 1500, "metals", false)}, StatusCorrected,
			[]Correction{{Type: postback.Trade, VolumeLots: -500}}, -500},
		{"a reversed trade does not count", volume(4000), []Event{trade("t1", 4000, "fx", false), trade("t2", 1000, "fx", false),
			{ID: "r2", Type: postback.Reversal, At: at(day, 11), OriginalID: "t2"}}, StatusMatched, nil, 0},
		{"restated: the earlier correction counts", volume(6100), []Event{trade("t1", 6000, "fx", false), trade("rc", 250, "fx", true)}, StatusCorrected,
			[]Correction{{Type: postback.Trade, VolumeLots: -150, Instrument: "fx"}}, -150},
		{"never seen in real time", volume(125), nil, StatusMissingInRealTime, []Correction{{Type: postback.Trade, VolumeLots: 125}}, 125},
		{"no volume stated: trades are left alone", &Row{Date: day, PlayerID: "c1", Currency: "USD"}, []Event{trade("t1", 6000, "fx", false)},
			StatusMatched, nil, 0},
	} {
		player := known
		if c.events == nil {
			player = Player{AffiliateID: "aff_fx"}
		}
		res := Compare(c.file, Summarize(c.events), day, player)
		require.Equal(t, c.status, res.Status, c.name)
		require.Equal(t, c.want, res.Corrections, c.name)
		require.Equal(t, c.delta, res.VolumeDeltaLots, c.name)
	}
}

// A file that places the first deposit on another day than real time's moves it: applied as a chunk applies
// a player's rows (one real-time history for all of them), files in any order end where the last alone puts
// the days' money and the standing first deposit, and the last file again matches.
func TestCompareMovedFirstDepositEqualsTheLastFileAlone(t *testing.T) {
	const d1, d2 = "2026-10-01", "2026-10-05"
	row := func(day string, ftd, deposits int64) *Row {
		return &Row{Date: day, PlayerID: "p", Currency: "USD", HasFirstDeposit: ftd > 0, FirstDepositMinor: ftd, DepositsMinor: deposits}
	}
	apply := func(events []Event, file []*Row, n string) []Event {
		h := Summarize(events)
		p := Player{Known: true, AffiliateID: "a"}
		for _, r := range file {
			p.FileHasFirstDeposit = p.FileHasFirstDeposit || r.HasFirstDeposit
		}
		for _, r := range file {
			for i, c := range Compare(r, h, r.Date, p).Corrections {
				events = append(events, Event{ID: n + r.Date + string(rune('a'+i)), Type: c.Type, At: at(r.Date, 0), AmountMinor: c.AmountMinor,
					Currency: "USD", OriginalID: c.OriginalEventID, FromReconciliation: true})
			}
		}
		return events
	}
	realTime := []Event{{ID: "f", Type: postback.FTD, At: at(d1, 9), AmountMinor: 100, Currency: "USD"}}
	missed := []Event{{ID: "d", Type: postback.Deposit, At: at(d2, 9), AmountMinor: 300, Currency: "USD"}} // no FTD seen
	later := []*Row{row(d1, 0, 100), row(d2, 5000, 5000)}                                                  // the FTD was d2's
	back := []*Row{row(d1, 100, 100), row(d2, 0, 5000)}                                                    // no: d1's after all
	moved := []*Row{row(d1, 0, 0), row(d2, 250, 300)}
	for _, c := range []struct {
		name     string
		realTime []Event
		files    [][]*Row
	}{
		{"to a later day", realTime, [][]*Row{later}},
		{"to a later day, then back", realTime, [][]*Row{later, back}},
		{"back and forth and back", realTime, [][]*Row{later, back, later}},
		{"to a later day with another amount, d1's money withdrawn", realTime, [][]*Row{moved}},
		{"a first deposit a reconciliation recorded, then moved", missed, [][]*Row{{row(d1, 0, 0), row(d2, 300, 300)}, moved, later}},
	} {
		t.Run(c.name, func(t *testing.T) {
			events := c.realTime
			for i, f := range c.files {
				events = apply(events, f, fmt.Sprint("file", i))
			}
			last := c.files[len(c.files)-1]
			alone := apply(c.realTime, last, "alone")
			got, want := Summarize(events), Summarize(alone)
			for _, r := range last {
				require.Equal(t, want.Days[r.Date].DepositsMinor, got.Days[r.Date].DepositsMinor, r.Date)
				require.Equal(t, r.DepositsMinor, got.Days[r.Date].DepositsMinor, r.Date)
			}
			require.Equal(t, want.FTD.AmountMinor, got.FTD.AmountMinor)
			for _, r := range last {
				if r.HasFirstDeposit {
					require.Equal(t, r.FirstDepositMinor, got.FTD.AmountMinor)
				}
			}
			require.Empty(t, apply(events, last, "again")[len(events):], "the last file again writes nothing")
		})
	}
}
