package performance

import (
	"strconv"
	"time"

	"github.com/affrelay/affrelay/money"
)

// Document is a report as the API and performance.report show it: money as decimal strings in each
// currency, rates as percentages, a rate null when its denominator is zero.
type Document struct {
	AffiliateID string        `json:"affiliate_id,omitempty"`
	From        time.Time     `json:"from"`
	To          time.Time     `json:"to"`
	GroupBy     string        `json:"group_by"`
	Rows        []DocumentRow `json:"rows"`
	Total       DocumentRow   `json:"total"`
}

// DocumentRow is one row, or the total (without key).
type DocumentRow struct {
	Key                 *string         `json:"key,omitempty"`
	Clicks              int64           `json:"clicks"`
	UniqueClicks        int64           `json:"unique_clicks"`
	Registrations       int64           `json:"registrations"`
	FTDs                int64           `json:"ftds"`
	Deposits            int64           `json:"deposits"`
	QualifiedCPAs       int64           `json:"qualified_cpas"`
	ClickToRegistration *string         `json:"click_to_registration"`
	RegistrationToFTD   *string         `json:"registration_to_ftd"`
	Currencies          []DocumentMoney `json:"currencies"`
}

// DocumentMoney is a row's figures in one currency.
type DocumentMoney struct {
	Currency          string            `json:"currency"`
	FTDAmount         string            `json:"ftd_amount"`
	DepositAmount     string            `json:"deposit_amount"`
	NGR               string            `json:"ngr"`
	CommissionEntries int64             `json:"commission_entries"`
	Commission        string            `json:"commission"`
	CommissionByKind  map[string]string `json:"commission_by_kind"`
	EPC               *string           `json:"epc"`
}

// Document renders the report of [from, to); affiliateID is empty for the report across affiliates.
func (rep Report) Document(affiliateID string, from, to time.Time) Document {
	d := Document{AffiliateID: affiliateID, From: from, To: to, GroupBy: rep.GroupBy,
		Rows: make([]DocumentRow, len(rep.Rows)), Total: rep.Total.document()}
	for i, r := range rep.Rows {
		d.Rows[i] = r.document()
		key := r.Key
		d.Rows[i].Key = &key
	}
	return d
}

func optional(s string, ok bool) *string {
	if !ok {
		return nil
	}
	return &s
}

func (r Row) document() DocumentRow {
	d := DocumentRow{
		Clicks: r.Clicks, UniqueClicks: r.UniqueClicks, Registrations: r.Registrations, FTDs: r.FTDs,
		Deposits: r.Deposits, QualifiedCPAs: r.QualifiedCPAs,
		ClickToRegistration: optional(r.ClickToRegistration()), RegistrationToFTD: optional(r.RegistrationToFTD()),
		Currencies: make([]DocumentMoney, len(r.Money)),
	}
	for i, m := range r.Money {
		byKind := make(map[string]string, len(m.ByKind))
		for _, k := range m.ByKind {
			byKind[k.Kind] = money.Format(k.AmountMinor, m.Currency)
		}
		d.Currencies[i] = DocumentMoney{
			Currency: m.Currency, FTDAmount: money.Format(m.FTDAmountMinor, m.Currency),
			DepositAmount: money.Format(m.DepositAmountMinor, m.Currency), NGR: money.Format(m.NGRMinor, m.Currency),
			CommissionEntries: m.CommissionEntries, Commission: money.Format(m.CommissionMinor, m.Currency),
			CommissionByKind: byKind, EPC: optional(r.EPC(m)),
		}
	}
	return d
}

// CSVHeader is the first line of the report as CSV: the grouping, the funnel, then per currency the money
// and one commission column per kind the report has (commission_cpa, commission_revshare, ...).
func (rep Report) CSVHeader() []string {
	h := []string{rep.GroupBy, "clicks", "unique_clicks", "registrations", "ftds", "deposits", "qualified_cpas",
		"click_to_registration", "registration_to_ftd", "currency", "ftd_amount", "deposit_amount", "ngr",
		"commission_entries", "commission", "epc"}
	for _, k := range rep.Kinds() {
		h = append(h, "commission_"+k)
	}
	return h
}

// CSVRecords renders the rows and then the total (key "TOTAL") as CSV lines: one line per currency of a row,
// repeating its counts, or one line with an empty currency when the row has no money. Absent rates are empty.
func (rep Report) CSVRecords() [][]string {
	kinds := rep.Kinds()
	var out [][]string
	add := func(key string, r Row) {
		c2r, _ := r.ClickToRegistration()
		r2f, _ := r.RegistrationToFTD()
		counts := []string{key, itoa(r.Clicks), itoa(r.UniqueClicks), itoa(r.Registrations), itoa(r.FTDs),
			itoa(r.Deposits), itoa(r.QualifiedCPAs), c2r, r2f}
		if len(r.Money) == 0 {
			out = append(out, append(counts, make([]string, 7+len(kinds))...))
		}
		for _, m := range r.Money {
			epc, _ := r.EPC(m)
			line := append(append([]string{}, counts...), m.Currency, money.Format(m.FTDAmountMinor, m.Currency),
				money.Format(m.DepositAmountMinor, m.Currency), money.Format(m.NGRMinor, m.Currency),
				itoa(m.CommissionEntries), money.Format(m.CommissionMinor, m.Currency), epc)
			for _, k := range kinds {
				amount := int64(0)
				for _, s := range m.ByKind {
					if s.Kind == k {
						amount = s.AmountMinor
					}
				}
				line = append(line, money.Format(amount, m.Currency))
			}
			out = append(out, line)
		}
	}
	for _, r := range rep.Rows {
		add(r.Key, r)
	}
	add("TOTAL", rep.Total)
	return out
}

func itoa(v int64) string { return strconv.FormatInt(v, 10) }
