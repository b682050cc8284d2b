package server

import (
	"context"
	"encoding/csv"
	"errors"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/affrelay/affrelay/apperr"
	"github.com/affrelay/affrelay/money"
	"github.com/affrelay/affrelay/payout"
	"github.com/affrelay/affrelay/service/payouts"
	"github.com/affrelay/affrelay/store"
)

// PayoutService is what the payout routes need from the application.
type PayoutService interface {
	Run(ctx context.Context, period string) (string, payout.Period, error)
	Confirm(ctx context.Context, id string, c payout.Confirmation) (payouts.ConfirmResult, error)
	Payout(ctx context.Context, id string) (payout.StatementData, error)
	List(ctx context.Context, f payouts.Filter) ([]payout.StatementData, string, error)
	Export(ctx context.Context, period string) ([]payouts.ExportRow, error)
	Balances(ctx context.Context, affiliateID string) ([]payouts.Balance, error)
	Entries(ctx context.Context, affiliateID, status string) ([]store.LedgerEntry, error)
	EntryTransitions(ctx context.Context, entryID string) ([]store.EntryTransition, error)
	SetHold(ctx context.Context, entryID string, hold bool, reason string) (store.LedgerEntry, error)
	SetMinimum(ctx context.Context, affiliateID, currency, amount string) (store.AffiliatePayoutMinimum, error)
	CreateKey(ctx context.Context, label string) (store.PayoutKey, string, error)
	RevokeKey(ctx context.Context, id string) error
	Authenticate(ctx context.Context, key string) (string, error)
}

// Listing page sizes.
const (
	defaultPayoutPage = 50
	maxPayoutPage     = 500
)

// payoutRoutes mounts the payout API. Statements, exports and confirmations take the admin token or an API
// key granted only the payouts scope (X-API-Key); running a cycle, holds, minimums and keys take the admin token.
func (h *handlers) payoutRoutes(v1 *gin.RouterGroup, admin *gin.RouterGroup) {
	finance := v1.Group("/admin/payouts", h.payoutsAuth, checkParams)
	finance.GET("", h.listPayouts)
	finance.GET("/export", h.exportPayouts)
	finance.GET("/:id", h.getPayout)
	finance.POST("/:id/confirm", h.confirmPayout)
	finance.POST("/run", adminAuth(h.o.AdminTokens), h.runPayouts)

	admin.POST("/payout-keys", h.createPayoutKey)
	admin.DELETE("/payout-keys/:id", h.revokePayoutKey)
	admin.PUT("/affiliates/:id/payout-minimums/:currency", h.setPayoutMinimum)
	admin.GET("/affiliates/:id/ledger-entries", h.listLedgerEntries)
	admin.GET("/ledger-entries/:id/transitions", h.listEntryTransitions)
	admin.POST("/ledger-entries/:id/hold", h.holdEntry(true))
	admin.POST("/ledger-entries/:id/release", h.holdEntry(false))
}

// payoutsAuth admits the admin token, or an API key with the payouts scope in X-API-Key.
func (h *handlers) payoutsAuth(c *gin.Context) {
	if hasAdminToken(c, h.o.AdminTokens) {
		c.Next()
		return
	}
	keyID, err := h.o.Payouts.Authenticate(c, c.GetHeader(headerAPIKey))
	if errors.Is(err, apperr.ErrUnauthorized) {
		abort(c, http.StatusUnauthorized, "unauthorized", "missing or wrong admin token (Authorization: Bearer) or payouts API key (X-API-Key)")
		return
	}
	if err != nil {
		internalError(c, h.o.Logger, err)
		return
	}
	c.Set(ctxKeyID, keyID)
	c.Next()
}

func (h *handlers) runPayouts(c *gin.Context) {
	var req struct {
		Period string `json:"period"`
	}
	if !decodeJSON(c, &req) {
		return
	}
	id, p, err := h.o.Payouts.Run(c, req.Period)
	if err != nil {
		serviceError(c, h.o.Logger, err)
		return
	}
	c.JSON(http.StatusAccepted, gin.H{"workflow_id": id, "period": p.Key, "period_start": p.Start, "period_end": p.End})
}

func (h *handlers) confirmPayout(c *gin.Context) {
	body, err := io.ReadAll(c.Request.Body)
	if err != nil {
		bodyError(c, err)
		return
	}
	conf, err := payout.ParseConfirmation(body)
	var fe *apperr.FieldError
	if errors.As(err, &fe) {
		if fe.Field == "body" {
			abort(c, http.StatusBadRequest, "malformed_body", fe.Error())
			return
		}
		abortField(c, fe.Field, fe.Message)
		return
	}
	res, err := h.o.Payouts.Confirm(c, c.Param("id"), conf)
	if err != nil {
		serviceError(c, h.o.Logger, err)
		return
	}
	c.JSON(http.StatusOK, gin.H{"payout": res.Payout, "duplicate": !res.Applied})
}

func (h *handlers) getPayout(c *gin.Context) {
	p, err := h.o.Payouts.Payout(c, c.Param("id"))
	if err != nil {
		serviceError(c, h.o.Logger, err)
		return
	}
	if !wantsCSV(c) {
		c.JSON(http.StatusOK, p)
		return
	}
	rows := [][]string{{"payout_id", "affiliate_id", "period", "currency", "ledger_entry_id", "kind", "event_id", "player_id", "event_at", "amount"}}
	for _, l := range p.Lines {
		rows = append(rows, []string{p.PayoutID, p.AffiliateID, p.Period, p.Amount.Currency, l.LedgerEntryID, l.Kind, l.EventID, l.PlayerID, l.EventAt.Format(time.RFC3339), l.Amount})
	}
	for _, t := range [][2]string{{"total_cpa", p.Totals.CPA}, {"total_revshare", p.Totals.RevShare}, {"total_sub_affiliate", p.Totals.SubAffiliate}, {"total_adjustments", p.Totals.Adjustments}, {"total_net", p.Totals.Net}} {
		rows = append(rows, []string{p.PayoutID, p.AffiliateID, p.Period, p.Amount.Currency, "", t[0], "", "", "", t[1]})
	}
	writeCSV(c, "payout-"+p.PayoutID+".csv", rows)
}

func wantsCSV(c *gin.Context) bool {
	return strings.Contains(c.GetHeader("Accept"), "text/csv")
}

// writeCSV answers with a CSV file. Cells that a spreadsheet would run as a formula are quoted with a leading '.
func writeCSV(c *gin.Context, name string, rows [][]string) {
	c.Header("Content-Type", "text/csv; charset=utf-8")
	c.Header("Content-Disposition", `attachment; filename="`+name+`"`)
	c.Status(http.StatusOK)
	w := csv.NewWriter(c.Writer)
	for _, r := range rows {
		for i, cell := range r {
			if cell != "" && strings.ContainsRune("=+@\t\r", rune(cell[0])) {
				r[i] = "'" + cell
			}
		}
		_ = w.Write(r)
	}
	w.Flush()
}

func (h *handlers) listPayouts(c *gin.Context) {
	limit := defaultPayoutPage
	if s := c.Query("limit"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 1 || n > maxPayoutPage {
			abortField(c, "limit", "must be a whole number from 1 to "+strconv.Itoa(maxPayoutPage))
			return
		}
		limit = n
	}
	list, next, err := h.o.Payouts.List(c, payouts.Filter{
		Status: c.Query("status"), AffiliateID: c.Query("affiliate_id"), Period: c.Query("period"), Cursor: c.Query("cursor"), Limit: limit,
	})
	if err != nil {
		serviceError(c, h.o.Logger, err)
		return
	}
	c.JSON(http.StatusOK, gin.H{"payouts": list, "next_cursor": next})
}

// exportPayouts is the mass-payout file of a period: one row per payout to make.
func (h *handlers) exportPayouts(c *gin.Context) {
	period := c.Query("period")
	if period == "" {
		abortField(c, "period", "is required, e.g. 2026-11")
		return
	}
	list, err := h.o.Payouts.Export(c, period)
	if err != nil {
		serviceError(c, h.o.Logger, err)
		return
	}
	rows := [][]string{{"payout_id", "affiliate_id", "name", "email", "currency", "amount", "period", "status"}}
	for _, r := range list {
		rows = append(rows, []string{r.Payout.PayoutID, r.Payout.AffiliateID, r.AffiliateName, r.AffiliateEmail, r.Payout.Amount.Currency, r.Payout.Amount.Amount, r.Payout.Period, r.Payout.Status})
	}
	writeCSV(c, "payouts-"+period+".csv", rows)
}

func (h *handlers) createPayoutKey(c *gin.Context) {
	var req struct {
		Label string `json:"label"`
	}
	if !decodeJSON(c, &req) {
		return
	}
	if len(req.Label) > 128 {
		abortField(c, "label", "is longer than 128 bytes")
		return
	}
	k, key, err := h.o.Payouts.CreateKey(c, req.Label)
	if err != nil {
		serviceError(c, h.o.Logger, err)
		return
	}
	c.JSON(http.StatusCreated, gin.H{"id": k.ID, "label": k.Label, "prefix": k.Prefix, "scope": "payouts", "api_key": key})
}

func (h *handlers) revokePayoutKey(c *gin.Context) {
	if err := h.o.Payouts.RevokeKey(c, c.Param("id")); err != nil {
		serviceError(c, h.o.Logger, err)
		return
	}
	c.Status(http.StatusNoContent)
}

func (h *handlers) setPayoutMinimum(c *gin.Context) {
	var req struct {
		Amount string `json:"amount"`
	}
	if !decodeJSON(c, &req) {
		return
	}
	m, err := h.o.Payouts.SetMinimum(c, c.Param("id"), c.Param("currency"), req.Amount)
	if err != nil {
		serviceError(c, h.o.Logger, err)
		return
	}
	c.JSON(http.StatusOK, gin.H{"affiliate_id": m.AffiliateID, "currency": m.Currency, "amount": money.Format(m.AmountMinor, m.Currency)})
}

func entryResponse(e store.LedgerEntry) gin.H {
	return gin.H{
		"id": e.ID, "affiliate_id": e.AffiliateID, "kind": e.Kind, "status": e.Status, "amount": money.Format(e.AmountMinor, e.Currency),
		"currency": e.Currency, "event_id": e.EventID, "player_id": e.PlayerID, "event_at": e.EventAt.UTC(), "original_key": e.OriginalKey,
	}
}

func (h *handlers) listLedgerEntries(c *gin.Context) {
	list, err := h.o.Payouts.Entries(c, c.Param("id"), c.Query("status"))
	respondList(c, h.o.Logger, "entries", list, err, entryResponse)
}

func (h *handlers) listEntryTransitions(c *gin.Context) {
	list, err := h.o.Payouts.EntryTransitions(c, c.Param("id"))
	respondList(c, h.o.Logger, "transitions", list, err, func(t store.EntryTransition) gin.H {
		return gin.H{"from": t.From, "to": t.To, "actor": t.Actor, "reason": t.Reason, "payout_id": t.PayoutID, "at": t.At.UTC()}
	})
}

func (h *handlers) holdEntry(hold bool) gin.HandlerFunc {
	return func(c *gin.Context) {
		var req struct {
			Reason string `json:"reason"`
		}
		if !decodeJSON(c, &req) {
			return
		}
		e, err := h.o.Payouts.SetHold(c, c.Param("id"), hold, req.Reason)
		if err != nil {
			serviceError(c, h.o.Logger, err)
			return
		}
		c.JSON(http.StatusOK, entryResponse(e))
	}
}

func (h *handlers) balance(c *gin.Context) {
	balances, err := h.o.Payouts.Balances(c, c.Param("id"))
	if err != nil {
		serviceError(c, h.o.Logger, err)
		return
	}
	out := make([]gin.H, 0, len(balances))
	for _, b := range balances {
		f := func(v int64) string { return money.Format(v, b.Currency) }
		out = append(out, gin.H{
			"currency": b.Currency, "amount": f(b.TotalMinor), "pending": f(b.PendingMinor), "approved": f(b.ApprovedMinor),
			"on_hold": f(b.OnHoldMinor), "paid": f(b.PaidMinor),
		})
	}
	c.JSON(http.StatusOK, gin.H{"affiliate_id": c.Param("id"), "balances": out})
}
