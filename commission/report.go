package commission

import (
	"fmt"
	"sort"
	"time"

	"github.com/affrelay/affrelay/money"
)

// Report groupings.
const (
	GroupByDay    = "day"
	GroupByEvent  = "event"
	GroupByPlayer = "player"
)

// GroupBys lists every report grouping.
var GroupBys = []string{GroupByDay, GroupByEvent, GroupByPlayer}

// ReportRow is the sum of the entries of one group in one currency.
type ReportRow struct {
	Key         string
	Currency    string
	Entries     int
	AmountMinor int64
}

// Total is the sum of every entry in one currency.
type Total struct {
	Currency    string
	Entries     int
	AmountMinor int64
}

// Report groups ledger entries. Its totals are sums of the entries themselves, not of rounded rows, so they
// equal the ledger to the cent.
type Report struct {
	GroupBy string
	Rows    []ReportRow
	Totals  []Total
}

// Summarize groups entries by day (of the event, UTC), event id or player id, rows and totals per currency,
// in a stable order.
func Summarize(entries []Entry, groupBy string) (Report, error) {
	key := map[string]func(Entry) string{
		GroupByDay:    func(e Entry) string { return e.At.UTC().Format("2006-01-02") },
		GroupByEvent:  func(e Entry) string { return e.EventID },
		GroupByPlayer: func(e Entry) string { return e.PlayerID },
	}[groupBy]
	if key == nil {
		return Report{}, fmt.Errorf("%q is not one of day, event, player", groupBy)
	}
	type group struct{ key, currency string }
	rows := map[group]*ReportRow{}
	totals := map[string]*Total{}
	for _, e := range entries {
		g := group{key(e), e.Currency}
		if rows[g] == nil {
			rows[g] = &ReportRow{Key: g.key, Currency: g.currency}
		}
		rows[g].Entries++
		rows[g].AmountMinor += e.AmountMinor
		if totals[e.Currency] == nil {
			totals[e.Currency] = &Total{Currency: e.Currency}
		}
		totals[e.Currency].Entries++
		totals[e.Currency].AmountMinor += e.AmountMinor
	}
	r := Report{GroupBy: groupBy, Rows: make([]ReportRow, 0, len(rows)), Totals: make([]Total, 0, len(totals))}
	for _, row := range rows {
		r.Rows = append(r.Rows, *row)
	}
	sort.Slice(r.Rows, func(i, j int) bool {
		if r.Rows[i].Key != r.Rows[j].Key {
			return r.Rows[i].Key < r.Rows[j].Key
		}
		return r.Rows[i].Currency < r.Rows[j].Currency
	})
	for _, t := range totals {
		r.Totals = append(r.Totals, *t)
	}
	sort.Slice(r.Totals, func(i, j int) bool { return r.Totals[i].Currency < r.Totals[j].Currency })
	return r, nil
}

// Document is a report as the API and the stored weekly reports show it: amounts as decimal strings.
type Document struct {
	AffiliateID string        `json:"affiliate_id"`
	From        time.Time     `json:"from"`
	To          time.Time     `json:"to"`
	GroupBy     string        `json:"group_by"`
	Rows        []DocumentRow `json:"rows"`
	Totals      []DocumentRow `json:"totals"`
}

// DocumentRow is one row or total of a Document; Key is empty on totals.
type DocumentRow struct {
	Key      string `json:"key,omitempty"`
	Currency string `json:"currency"`
	Entries  int    `json:"entries"`
	Amount   string `json:"amount"`
}

// Document renders the report of an affiliate's entries in [from, to).
func (r Report) Document(affiliateID string, from, to time.Time) Document {
	d := Document{AffiliateID: affiliateID, From: from, To: to, GroupBy: r.GroupBy,
		Rows: make([]DocumentRow, len(r.Rows)), Totals: make([]DocumentRow, len(r.Totals))}
	for i, row := range r.Rows {
		d.Rows[i] = DocumentRow{Key: row.Key, Currency: row.Currency, Entries: row.Entries, Amount: money.Format(row.AmountMinor, row.Currency)}
	}
	for i, t := range r.Totals {
		d.Totals[i] = DocumentRow{Currency: t.Currency, Entries: t.Entries, Amount: money.Format(t.AmountMinor, t.Currency)}
	}
	return d
}
