// Package performance builds the affiliate performance report (the funnel from clicks to commission) from
// sums the store has already grouped: clicks, conversion events and ledger entries. It does no I/O.
package performance

import (
	"fmt"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/affrelay/affrelay/commission"
	"github.com/affrelay/affrelay/money"
	"github.com/affrelay/affrelay/postback"
)

// Report groupings.
const (
	GroupByDay       = "day"
	GroupByWeek      = "week"
	GroupByMonth     = "month"
	GroupByPlayer    = "player"
	GroupByAffiliate = "affiliate"
)

// AffiliateGroupBys are the groupings of one affiliate's report; AllGroupBys those of the report across
// affiliates.
var (
	AffiliateGroupBys = []string{GroupByDay, GroupByWeek, GroupByMonth, "sub1", "sub2", "sub3", "sub4", "sub5", GroupByPlayer}
	AllGroupBys       = []string{GroupByAffiliate, GroupByDay, GroupByWeek, GroupByMonth}
)

// IsTime says whether groupBy groups by when things happened; the store then groups by UTC day.
func IsTime(groupBy string) bool {
	return groupBy == GroupByDay || groupBy == GroupByWeek || groupBy == GroupByMonth
}

// Bucket is the key of the day (YYYY-MM-DD, UTC) under a time grouping: the day itself, the Monday that
// starts its ISO week, or its month (YYYY-MM). Other groupings keep the key as it is.
func Bucket(key, groupBy string) (string, error) {
	if !IsTime(groupBy) {
		return key, nil
	}
	day, err := time.Parse(time.DateOnly, key)
	if err != nil {
		return "", fmt.Errorf("day %q: %w", key, err)
	}
	switch groupBy {
	case GroupByWeek:
		return day.AddDate(0, 0, -((int(day.Weekday()) + 6) % 7)).Format(time.DateOnly), nil
	case GroupByMonth:
		return day.Format("2006-01"), nil
	}
	return key, nil
}

// ClickSum counts the clicks of one key and UTC day: all of them, and the distinct visitors among them.
type ClickSum struct {
	Key, Day       string
	Clicks, Unique int64
}

// EventSum sums the approved conversions of one key, event type and currency.
type EventSum struct {
	Key, Event, Currency string
	Count, AmountMinor   int64
}

// CommissionSum sums the ledger entries of one key, kind and currency.
type CommissionSum struct {
	Key, Kind, Currency  string
	Entries, AmountMinor int64
}

// Facts are what the store read for one report.
type Facts struct {
	Clicks      []ClickSum
	Events      []EventSum
	Commissions []CommissionSum
}

// KindSum is the commission of one kind (cpa, revshare, sub_affiliate, ...) in one currency.
type KindSum struct {
	Kind                 string
	Entries, AmountMinor int64
}

// Money is a row's figures in one currency.
type Money struct {
	Currency           string
	FTDAmountMinor     int64
	DepositAmountMinor int64
	NGRMinor           int64
	// CommissionEntries and CommissionMinor are the ledger's, summed over every kind.
	CommissionEntries int64
	CommissionMinor   int64
	ByKind            []KindSum // by kind
}

// Row is the funnel of one key; the report's Total has no key.
type Row struct {
	Key           string
	Clicks        int64
	UniqueClicks  int64
	Registrations int64
	FTDs          int64
	// Deposits counts first and later deposits alike; DepositAmountMinor sums both.
	Deposits int64
	// QualifiedCPAs is CPA entries less CPA clawbacks: the players who qualified and stayed qualified.
	QualifiedCPAs int64
	Money         []Money // by currency
}

// Report is the performance of a range, one row per key in key order, and the total of every row.
type Report struct {
	GroupBy string
	Rows    []Row
	Total   Row
}

// Build groups facts into a report. Counts are summed as the store gave them, so the total commission per
// currency is the ledger's sum of the same entries: the commission report's total for the same range.
func Build(groupBy string, f Facts) (Report, error) {
	rows := map[string]*Row{}
	total := &Row{}
	row := func(key string) (*Row, error) {
		k, err := Bucket(key, groupBy)
		if err != nil {
			return nil, err
		}
		if rows[k] == nil {
			rows[k] = &Row{Key: k}
		}
		return rows[k], nil
	}
	for _, c := range f.Clicks {
		r, err := row(c.Key)
		if err != nil {
			return Report{}, err
		}
		for _, r := range []*Row{r, total} {
			r.Clicks += c.Clicks
			r.UniqueClicks += c.Unique
		}
	}
	for _, e := range f.Events {
		r, err := row(e.Key)
		if err != nil {
			return Report{}, err
		}
		for _, r := range []*Row{r, total} {
			r.addEvent(e)
		}
	}
	for _, c := range f.Commissions {
		r, err := row(c.Key)
		if err != nil {
			return Report{}, err
		}
		for _, r := range []*Row{r, total} {
			r.addCommission(c)
		}
	}
	rep := Report{GroupBy: groupBy, Rows: make([]Row, 0, len(rows)), Total: *total}
	for _, r := range rows {
		rep.Rows = append(rep.Rows, *r)
	}
	sort.Slice(rep.Rows, func(i, j int) bool { return rep.Rows[i].Key < rep.Rows[j].Key })
	return rep, nil
}

// sortedItem returns the item of items with key, inserting fresh(key) in key order the first time.
func sortedItem[T any](items *[]T, key string, keyOf func(T) string, fresh func(string) T) *T {
	s := *items
	i := sort.Search(len(s), func(i int) bool { return keyOf(s[i]) >= key })
	if i == len(s) || keyOf(s[i]) != key {
		s = slices.Insert(s, i, fresh(key))
		*items = s
	}
	return &s[i]
}

// money returns the row's figures in currency, adding them in currency order the first time.
func (r *Row) money(currency string) *Money {
	return sortedItem(&r.Money, currency, func(m Money) string { return m.Currency }, func(c string) Money { return Money{Currency: c} })
}

func (r *Row) addEvent(e EventSum) {
	switch e.Event {
	case postback.Registration:
		r.Registrations += e.Count
	case postback.FTD:
		r.FTDs += e.Count
		r.Deposits += e.Count
		m := r.money(e.Currency)
		m.FTDAmountMinor += e.AmountMinor
		m.DepositAmountMinor += e.AmountMinor
	case postback.Deposit:
		r.Deposits += e.Count
		r.money(e.Currency).DepositAmountMinor += e.AmountMinor
	case postback.FTDAdjustment:
		// A reconciliation's restatement of a first deposit: it moves the amounts, not the counts.
		m := r.money(e.Currency)
		m.FTDAmountMinor += e.AmountMinor
		m.DepositAmountMinor += e.AmountMinor
	case postback.Revenue:
		r.money(e.Currency).NGRMinor += e.AmountMinor
	}
}

func (r *Row) addCommission(c CommissionSum) {
	switch c.Kind {
	case commission.KindCPA:
		r.QualifiedCPAs += c.Entries
	case commission.KindCPAClawback:
		r.QualifiedCPAs -= c.Entries
	}
	m := r.money(c.Currency)
	m.CommissionEntries += c.Entries
	m.CommissionMinor += c.AmountMinor
	k := sortedItem(&m.ByKind, c.Kind, func(k KindSum) string { return k.Kind }, func(kind string) KindSum { return KindSum{Kind: kind} })
	k.Entries += c.Entries
	k.AmountMinor += c.AmountMinor
}

// RateDecimals is the precision of the conversion rates, in percent: "12.50".
const RateDecimals = 2

// EPCExtraDecimals is how many digits past the currency's minor unit earnings per click carry: "0.4733" USD.
const EPCExtraDecimals = 2

// Rate is num/den as a percentage with RateDecimals decimals, rounded half to even; ok false when den is 0.
func Rate(num, den int64) (string, bool) {
	if den <= 0 {
		return "", false
	}
	return formatSigned(commission.MulDivRound(num, 100*pow10(RateDecimals), den), RateDecimals), true
}

// ClickToRegistration is registrations per click, in percent.
func (r Row) ClickToRegistration() (string, bool) { return Rate(r.Registrations, r.Clicks) }

// RegistrationToFTD is FTDs per registration, in percent.
func (r Row) RegistrationToFTD() (string, bool) { return Rate(r.FTDs, r.Registrations) }

// EPC is the commission earned per click in the currency, with EPCExtraDecimals digits past its minor unit,
// rounded half to even; ok false without clicks.
func (r Row) EPC(m Money) (string, bool) {
	if r.Clicks <= 0 {
		return "", false
	}
	digits, _ := money.MinorDigits(m.Currency)
	return formatSigned(commission.MulDivRound(m.CommissionMinor, pow10(EPCExtraDecimals), r.Clicks), digits+EPCExtraDecimals), true
}

func formatSigned(v int64, decimals int) string {
	if v < 0 {
		return "-" + commission.FormatDecimal(-v, decimals)
	}
	return commission.FormatDecimal(v, decimals)
}

func pow10(n int) int64 {
	p := int64(1)
	for range n {
		p *= 10
	}
	return p
}

// Kinds lists every commission kind of the report, sorted: the columns of its CSV.
func (rep Report) Kinds() []string {
	seen := map[string]bool{}
	var kinds []string
	for _, m := range rep.Total.Money {
		for _, k := range m.ByKind {
			if !seen[k.Kind] {
				seen[k.Kind] = true
				kinds = append(kinds, k.Kind)
			}
		}
	}
	sort.Strings(kinds)
	return kinds
}

// ValidGroupBy says whether groupBy is one of allowed, and if not, what to say about it.
func ValidGroupBy(groupBy string, allowed []string) (string, bool) {
	if slices.Contains(allowed, groupBy) {
		return "", true
	}
	return fmt.Sprintf("%q is not one of %s", groupBy, strings.Join(allowed, ", ")), false
}
