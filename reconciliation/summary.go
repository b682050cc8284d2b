package reconciliation

import (
	"slices"
	"strings"

	"github.com/affrelay/affrelay/money"
)

// Amounts are deposits and NGR as decimal strings of their currency.
type Amounts struct {
	Deposits string `json:"deposits"`
	NGR      string `json:"ngr"`
}

// CurrencySummary sets real time beside the file for one currency, with the commission the corrections moved.
type CurrencySummary struct {
	Currency        string  `json:"currency"`
	RealTime        Amounts `json:"realtime"`
	File            Amounts `json:"file"`
	Difference      Amounts `json:"difference"`
	CommissionDelta string  `json:"commission_delta"`
}

// Counts are a batch's player-days by outcome.
type Counts struct {
	Rows              int64 `json:"rows"`
	Matched           int64 `json:"matched"`
	Corrected         int64 `json:"corrected"`
	MissingInRealTime int64 `json:"missing_in_realtime"`
	MissingInFile     int64 `json:"missing_in_file"`
	UnknownPlayers    int64 `json:"unknown_players"`
	Unattributed      int64 `json:"unattributed"`
	CurrencyMismatch  int64 `json:"currency_mismatch"`
}

// Summary is a batch's report: counts and, per currency, real time against the file.
type Summary struct {
	Counts     Counts            `json:"counts"`
	Currencies []CurrencySummary `json:"currencies"`
}

// Totals are the minor-unit sums of one currency's rows.
type Totals struct {
	Currency                    string
	DepositsMinor, NGRMinor     int64
	RTDepositsMinor, RTNGRMinor int64
}

// NewSummary builds the report from rows per status, sums per currency and commission per currency.
func NewSummary(byStatus map[string]int64, totals []Totals, commission map[string]int64) Summary {
	c := Counts{
		Matched: byStatus[StatusMatched], Corrected: byStatus[StatusCorrected], MissingInRealTime: byStatus[StatusMissingInRealTime],
		MissingInFile: byStatus[StatusMissingInFile], UnknownPlayers: byStatus[StatusUnknownPlayer],
		Unattributed: byStatus[StatusUnattributed], CurrencyMismatch: byStatus[StatusCurrencyMismatch],
	}
	for status, n := range byStatus {
		if status != StatusMissingInFile {
			c.Rows += n
		}
	}
	s := Summary{Counts: c, Currencies: []CurrencySummary{}}
	seen := map[string]bool{}
	for _, t := range totals {
		seen[t.Currency] = true
		s.Currencies = append(s.Currencies, CurrencySummary{
			Currency:        t.Currency,
			RealTime:        amounts(t.RTDepositsMinor, t.RTNGRMinor, t.Currency),
			File:            amounts(t.DepositsMinor, t.NGRMinor, t.Currency),
			Difference:      amounts(t.DepositsMinor-t.RTDepositsMinor, t.NGRMinor-t.RTNGRMinor, t.Currency),
			CommissionDelta: money.Format(commission[t.Currency], t.Currency),
		})
	}
	// Commission paid in a plan currency no row is in still shows.
	for cur, minor := range commission {
		if !seen[cur] {
			s.Currencies = append(s.Currencies, CurrencySummary{Currency: cur, RealTime: amounts(0, 0, cur), File: amounts(0, 0, cur),
				Difference: amounts(0, 0, cur), CommissionDelta: money.Format(minor, cur)})
		}
	}
	slices.SortFunc(s.Currencies, func(a, b CurrencySummary) int { return strings.Compare(a.Currency, b.Currency) })
	return s
}

func amounts(deposits, ngr int64, currency string) Amounts {
	return Amounts{Deposits: money.Format(deposits, currency), NGR: money.Format(ngr, currency)}
}
