package server

import (
	"encoding/csv"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/affrelay/affrelay/commission"
	"github.com/affrelay/affrelay/commission/commissionrow"
	"github.com/affrelay/affrelay/money"
	"github.com/affrelay/affrelay/postback"
	"github.com/affrelay/affrelay/store"
)

// Rates in the API are percentages with up to two decimals ("25", "12.5"), held as basis points.
const rateDecimals = 2

type qualificationJSON struct {
	MinFirstDeposit   string `json:"min_first_deposit,omitempty"`
	CumulativeDeposit string `json:"cumulative_deposit,omitempty"`
	WindowDays        int    `json:"window_days,omitempty"`
}

type tierJSON struct {
	From string `json:"from"`
	Rate string `json:"rate"`
}

// planJSON is a plan version on the wire: money as decimal strings in the plan's currency, rates as percent.
type planJSON struct {
	ID            string             `json:"id,omitempty"`
	Type          string             `json:"type"`
	Amount        string             `json:"amount,omitempty"`
	Currency      string             `json:"currency"`
	Qualification *qualificationJSON `json:"qualification,omitempty"`
	Tiers         []tierJSON         `json:"tiers,omitempty"`
	TierMode      string             `json:"tier_mode,omitempty"`
	Carryover     bool               `json:"carryover,omitempty"`
	HoldDays      int                `json:"hold_days,omitempty"`
	EffectiveFrom *time.Time         `json:"effective_from,omitempty"`
	// VolumeRates are a volume plan's rates per lot, by instrument class.
	VolumeRates []commission.VolumeRateText `json:"volume_rates,omitempty"`
}

// maxPlanTiers bounds a RevShare plan's tiers: real programmes have a handful, and each event walks them.
const maxPlanTiers = 20

// maxHoldDays bounds a plan's hold: a year is longer than any chargeback window.
const maxHoldDays = 366

// parsePlan validates a plan version; on failure it has answered 400 naming the field under prefix.
func parsePlan(c *gin.Context, prefix string, j planJSON) (store.Plan, bool) {
	fail := func(field, msg string) (store.Plan, bool) {
		abortField(c, prefix+field, msg)
		return store.Plan{}, false
	}
	if !money.ValidCurrency(j.Currency) {
		return fail("currency", fmt.Sprintf("%q is not an ISO 4217 currency code such as USD", j.Currency))
	}
	amount := func(field, s string) (int64, bool) {
		if s == "" {
			return 0, true
		}
		v, err := money.Parse(s, j.Currency)
		if err != nil {
			fail(field, err.Error())
			return 0, false
		}
		if v < 0 {
			fail(field, "must not be negative")
			return 0, false
		}
		return v, true
	}
	if j.HoldDays < 0 || j.HoldDays > maxHoldDays {
		return fail("hold_days", fmt.Sprintf("must be 0 to %d days", maxHoldDays))
	}
	p := store.Plan{Type: j.Type, Currency: j.Currency, TierMode: j.TierMode, Carryover: j.Carryover, HoldDays: j.HoldDays}
	var ok bool
	if p.AmountMinor, ok = amount("amount", j.Amount); !ok {
		return p, false
	}
	if q := j.Qualification; q != nil {
		if p.MinFirstDepositMinor, ok = amount("qualification.min_first_deposit", q.MinFirstDeposit); !ok {
			return p, false
		}
		if p.CumulativeDepositMinor, ok = amount("qualification.cumulative_deposit", q.CumulativeDeposit); !ok {
			return p, false
		}
		p.WindowDays = q.WindowDays
	}
	if listTooLong(c, prefix+"tiers", len(j.Tiers), maxPlanTiers) {
		return p, false
	}
	tiers := make([]commission.Tier, len(j.Tiers))
	for i, t := range j.Tiers {
		var err error
		if tiers[i].FromMinor, ok = amount(fmt.Sprintf("tiers[%d].from", i), t.From); !ok {
			return p, false
		}
		if tiers[i].RateBP, err = commission.ParseDecimal(t.Rate, rateDecimals); err != nil {
			return fail(fmt.Sprintf("tiers[%d].rate", i), "is a percentage: "+err.Error())
		}
	}
	p.Tiers = commissionrow.Tiers(tiers)
	if listTooLong(c, prefix+"volume_rates", len(j.VolumeRates), len(postback.InstrumentClasses)+1) {
		return p, false
	}
	for i, r := range j.VolumeRates {
		if listTooLong(c, fmt.Sprintf("%svolume_rates[%d].tiers", prefix, i), len(r.Tiers), maxPlanTiers) {
			return p, false
		}
	}
	rates, field, msg := commission.ParseVolumeRates(j.VolumeRates, j.Currency)
	if field != "" {
		return fail(field, msg)
	}
	p.VolumeRates = commissionrow.VolumeRates(rates)
	if j.EffectiveFrom != nil {
		p.EffectiveFrom = j.EffectiveFrom.UTC()
	}
	cp, err := commissionrow.Plan(p)
	if err != nil {
		return fail("tiers", err.Error())
	}
	if field, msg := cp.Validate(); field != "" {
		return fail(field, msg)
	}
	return p, true
}

func planResponse(p store.Plan) planJSON {
	j := planJSON{ID: p.ID, Type: p.Type, Currency: p.Currency, TierMode: p.TierMode, Carryover: p.Carryover, HoldDays: p.HoldDays}
	from := p.EffectiveFrom.UTC()
	j.EffectiveFrom = &from
	if p.AmountMinor != 0 {
		j.Amount = money.Format(p.AmountMinor, p.Currency)
	}
	if p.MinFirstDepositMinor != 0 || p.CumulativeDepositMinor != 0 {
		j.Qualification = &qualificationJSON{WindowDays: p.WindowDays}
		if p.MinFirstDepositMinor != 0 {
			j.Qualification.MinFirstDeposit = money.Format(p.MinFirstDepositMinor, p.Currency)
		}
		if p.CumulativeDepositMinor != 0 {
			j.Qualification.CumulativeDeposit = money.Format(p.CumulativeDepositMinor, p.Currency)
		}
	}
	cp, _ := commissionrow.Plan(p)
	for _, t := range cp.Tiers {
		j.Tiers = append(j.Tiers, tierJSON{From: money.Format(t.FromMinor, p.Currency), Rate: commission.FormatDecimal(t.RateBP, rateDecimals)})
	}
	if len(cp.VolumeRates) > 0 {
		j.VolumeRates = commission.FormatVolumeRates(cp.VolumeRates, p.Currency)
	}
	return j
}

type parentJSON struct {
	AffiliateID string `json:"affiliate_id"`
	Share       string `json:"share"` // percent of the child's commission
}

// parseParent validates a parent link; an absent one is no parent.
func parseParent(c *gin.Context, j *parentJSON) (string, int64, bool) {
	if j == nil || j.AffiliateID == "" {
		return "", 0, true
	}
	share, err := commission.ParseDecimal(j.Share, rateDecimals)
	if err != nil || share <= 0 || share > 10000 {
		abortField(c, "parent.share", "must be a percentage above 0 and at most 100, such as 10 or 12.5")
		return "", 0, false
	}
	return j.AffiliateID, share, true
}

func (h *handlers) addPlanVersion(c *gin.Context) {
	var req planJSON
	if !decodeJSON(c, &req) {
		return
	}
	if req.EffectiveFrom == nil {
		abortField(c, "effective_from", "is required (RFC 3339 time)")
		return
	}
	p, ok := parsePlan(c, "", req)
	if !ok {
		return
	}
	p, err := h.o.Affiliates.AddPlanVersion(c, c.Param("id"), p)
	if err != nil {
		serviceError(c, h.o.Logger, err)
		return
	}
	c.JSON(http.StatusCreated, planResponse(p))
}

func (h *handlers) listPlanVersions(c *gin.Context) {
	plans, err := h.o.Affiliates.PlanVersions(c, c.Param("id"))
	if err != nil {
		serviceError(c, h.o.Logger, err)
		return
	}
	out := make([]planJSON, len(plans))
	for i, p := range plans {
		out[i] = planResponse(p)
	}
	c.JSON(http.StatusOK, gin.H{"affiliate_id": c.Param("id"), "plans": out})
}

func (h *handlers) setParent(c *gin.Context) {
	var req parentJSON
	if !decodeJSON(c, &req) {
		return
	}
	parentID, share, ok := parseParent(c, &req)
	if !ok {
		return
	}
	aff, err := h.o.Affiliates.SetParent(c, c.Param("id"), parentID, share)
	if err != nil {
		serviceError(c, h.o.Logger, err)
		return
	}
	c.JSON(http.StatusOK, gin.H{"affiliate_id": aff.ID, "parent": parentResponse(aff)})
}

func parentResponse(aff store.Affiliate) *parentJSON {
	if aff.ParentID == "" {
		return nil
	}
	return &parentJSON{AffiliateID: aff.ParentID, Share: commission.FormatDecimal(aff.ParentShareBP, rateDecimals)}
}

type fxRateJSON struct {
	ID            string     `json:"id,omitempty"`
	Base          string     `json:"base"`
	Quote         string     `json:"quote"`
	Rate          string     `json:"rate"`
	EffectiveFrom *time.Time `json:"effective_from"`
}

func fxRateResponse(r store.FXRate) fxRateJSON {
	from := r.EffectiveFrom.UTC()
	return fxRateJSON{ID: r.ID, Base: r.Base, Quote: r.Quote, Rate: commission.FormatDecimal(r.RateE8, commission.RateDecimals), EffectiveFrom: &from}
}

func (h *handlers) addFXRate(c *gin.Context) {
	var req fxRateJSON
	if !decodeJSON(c, &req) {
		return
	}
	for field, cur := range map[string]string{"base": req.Base, "quote": req.Quote} {
		if !money.ValidCurrency(cur) {
			abortField(c, field, fmt.Sprintf("%q is not an ISO 4217 currency code such as USD", cur))
			return
		}
	}
	if req.Base == req.Quote {
		abortField(c, "quote", "must differ from base")
		return
	}
	rate, err := commission.ParseDecimal(req.Rate, commission.RateDecimals)
	if err != nil || rate == 0 {
		abortField(c, "rate", fmt.Sprintf("must be a positive decimal with at most %d decimal places, such as 1.08345", commission.RateDecimals))
		return
	}
	if req.EffectiveFrom == nil {
		abortField(c, "effective_from", "is required (RFC 3339 time)")
		return
	}
	r, err := h.o.Affiliates.AddFXRate(c, store.FXRate{Base: req.Base, Quote: req.Quote, RateE8: rate, EffectiveFrom: req.EffectiveFrom.UTC()})
	if err != nil {
		serviceError(c, h.o.Logger, err)
		return
	}
	c.JSON(http.StatusCreated, fxRateResponse(r))
}

func (h *handlers) listFXRates(c *gin.Context) {
	rates, err := h.o.Affiliates.FXRates(c)
	respondList(c, h.o.Logger, "fx_rates", rates, err, fxRateResponse)
}

// commissionReport answers GET /v1/affiliates/:id/commissions?from=&to=&group_by= as JSON or, when the
// client accepts text/csv, as CSV. from and to are RFC 3339 times or dates (to is exclusive); amounts are
// decimal strings in each entry's currency.
func (h *handlers) commissionReport(c *gin.Context) {
	from, to, ok := reportRange(c)
	if !ok {
		return
	}
	groupBy := c.DefaultQuery("group_by", commission.GroupByDay)
	if !slices.Contains(commission.GroupBys, groupBy) {
		abortField(c, "group_by", fmt.Sprintf("%q is not one of %s", groupBy, strings.Join(commission.GroupBys, ", ")))
		return
	}
	entries, err := h.o.Affiliates.CommissionEntries(c, c.Param("id"), from, to)
	if err != nil {
		serviceError(c, h.o.Logger, err)
		return
	}
	rep, err := commission.Summarize(entries, groupBy)
	if err != nil {
		internalError(c, h.o.Logger, err)
		return
	}
	if strings.Contains(c.GetHeader("Accept"), "text/csv") {
		writeReportCSV(c, rep)
		return
	}
	c.JSON(http.StatusOK, rep.Document(c.Param("id"), from, to))
}

// writeReportCSV writes one line per row and one "TOTAL" line per currency.
func writeReportCSV(c *gin.Context, rep commission.Report) {
	c.Header("Content-Type", "text/csv; charset=utf-8")
	c.Status(http.StatusOK)
	w := csv.NewWriter(c.Writer)
	_ = w.Write([]string{rep.GroupBy, "currency", "entries", "amount"})
	for _, r := range rep.Rows {
		_ = w.Write([]string{csvSafe(r.Key), r.Currency, strconv.Itoa(r.Entries), money.Format(r.AmountMinor, r.Currency)})
	}
	for _, t := range rep.Totals {
		_ = w.Write([]string{"TOTAL", t.Currency, strconv.Itoa(t.Entries), money.Format(t.AmountMinor, t.Currency)})
	}
	w.Flush()
}

// csvSafe keeps a spreadsheet from reading a sender-chosen id (event or player) as a formula.
func csvSafe(s string) string {
	if s != "" && strings.ContainsRune("=+-@\t\r", rune(s[0])) {
		return "'" + s
	}
	return s
}

// reportRange reads the from and to query parameters of a report; on failure it has answered 400.
func reportRange(c *gin.Context) (from, to time.Time, ok bool) {
	if from, ok = reportTime(c, "from"); !ok {
		return
	}
	if to, ok = reportTime(c, "to"); !ok {
		return
	}
	if !to.After(from) {
		abortField(c, "to", "must be after from")
		return from, to, false
	}
	return from, to, true
}

func reportTime(c *gin.Context, name string) (time.Time, bool) {
	v := c.Query(name)
	if v == "" {
		abortField(c, name, "is required (RFC 3339 time or YYYY-MM-DD date)")
		return time.Time{}, false
	}
	if t, err := time.Parse(time.RFC3339, v); err == nil {
		return t.UTC(), true
	}
	if t, err := time.Parse(time.DateOnly, v); err == nil {
		return t, true
	}
	abortField(c, name, fmt.Sprintf("%q is not an RFC 3339 time or a YYYY-MM-DD date", v))
	return time.Time{}, false
}
