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

	"github.com/affrelay/affrelay/money"
	"github.com/affrelay/affrelay/postback"
	recon "github.com/affrelay/affrelay/reconciliation"
	reconsvc "github.com/affrelay/affrelay/service/reconciliation"
	"github.com/affrelay/affrelay/signing"
	"github.com/affrelay/affrelay/store"
)

// Reconciliation is what the reconciliation routes need of the application layer.
type Reconciliation interface {
	Submit(ctx context.Context, f reconsvc.File) (reconsvc.Accepted, error)
	Batch(ctx context.Context, integrationID, id string) (reconsvc.Report, error)
	Rows(ctx context.Context, integrationID, id, status string, after uint64, limit int) ([]store.ReconciliationRow, error)
	SetPull(ctx context.Context, integrationID string, p reconsvc.PullSettings) (store.ReconciliationPull, error)
	Pull(ctx context.Context, integrationID string) (store.ReconciliationPull, error)
	Backfill(ctx context.Context, integrationID, from, to string) (ids []string, started []bool, err error)
}

// reconciliationRoutes mounts the batch upload (its own body limit: files are far larger than postbacks)
// and the reports, all authenticated by the integration's key like postbacks.
func (h *handlers) reconciliationRoutes(r *gin.Engine) {
	if h.o.Reconciliation == nil {
		return
	}
	key := []gin.HandlerFunc{h.audit, h.authenticateKey, h.allowIP, h.rateLimit, checkParams}
	r.POST("/v1/reconciliation/batches", append(key, limitBody(h.o.ReconciliationMaxBytes), h.extendUploadDeadline, h.verifyUploadSignature, h.uploadBatch)...)
	r.GET("/v1/reconciliation/batches/:id", append(key, h.batchReport)...)
	r.GET("/v1/reconciliation/batches/:id/rows", append(key, h.batchRows)...)
}

// reconciliationAdminRoutes mounts the scheduled pull's settings and the backfill under /v1/admin/integrations.
func (h *handlers) reconciliationAdminRoutes(admin *gin.RouterGroup) {
	if h.o.Reconciliation == nil {
		return
	}
	admin.PUT("/integrations/:id/reconciliation/pull-settings", h.setPull)
	admin.GET("/integrations/:id/reconciliation/pull-settings", h.getPull)
	admin.POST("/integrations/:id/reconciliation/pull", h.backfillPull)
}

func (h *handlers) setPull(c *gin.Context) {
	var req struct {
		URLTemplate string `json:"url_template"`
		AuthHeader  string `json:"auth_header"`
		AuthValue   string `json:"auth_value"`
		Format      string `json:"format"`
		Cron        string `json:"cron"`
		TimeZone    string `json:"time_zone"`
	}
	if !decodeJSON(c, &req) {
		return
	}
	p, err := h.o.Reconciliation.SetPull(c, c.Param("id"), reconsvc.PullSettings(req))
	if err != nil {
		h.fileError(c, err)
		return
	}
	c.JSON(http.StatusOK, pullJSON(p))
}

func (h *handlers) getPull(c *gin.Context) {
	p, err := h.o.Reconciliation.Pull(c, c.Param("id"))
	if err != nil {
		h.fileError(c, err)
		return
	}
	c.JSON(http.StatusOK, pullJSON(p))
}

// pullJSON shows the settings; the auth value never leaves the server.
func pullJSON(p store.ReconciliationPull) gin.H {
	return gin.H{"integration_id": p.IntegrationID, "url_template": p.URLTemplate, "auth_header": p.AuthHeader,
		"auth_value_set": p.AuthValue != "", "format": p.Format, "cron": p.Cron, "time_zone": p.TimeZone,
		"schedule_id": "reconciliation-pull:" + p.IntegrationID}
}

func (h *handlers) backfillPull(c *gin.Context) {
	var req struct {
		From string `json:"from"`
		To   string `json:"to"`
	}
	if !decodeJSON(c, &req) {
		return
	}
	ids, started, err := h.o.Reconciliation.Backfill(c, c.Param("id"), req.From, req.To)
	if err != nil {
		h.fileError(c, err)
		return
	}
	out := make([]gin.H, len(ids))
	for i, id := range ids {
		status := "started"
		if !started[i] {
			status = "duplicate"
		}
		out[i] = gin.H{"workflow_id": id, "status": status}
	}
	c.JSON(http.StatusAccepted, gin.H{"workflows": out})
}

// verifyUploadSignature checks the signature of an integration that has secrets without holding the file:
// the headers are checked now, the body's bytes go through the verifier as the upload streams into staging,
// and the batch is accepted only when the signature matches at the end (reconsvc.File.Verify); otherwise its
// staged rows are deleted and the answer is 401.
func (h *handlers) verifyUploadSignature(c *gin.Context) {
	now := h.o.Now()
	secrets, err := h.o.Integrations.ActiveSecrets(c, c.GetString(ctxIntegrationID), now)
	if err != nil {
		internalError(c, h.o.Logger, err)
		return
	}
	if len(secrets) == 0 {
		c.Next()
		return
	}
	v, tolerance, verr := h.startVerification(c, secrets, now)
	if !h.signatureAccepted(c, verr, tolerance) {
		return
	}
	body := c.Request.Body
	c.Request.Body = struct {
		io.Reader
		io.Closer
	}{io.TeeReader(body, v), body}
	c.Set(ctxUploadVerify, func() error {
		// What the parser left unread (a gzip trailer, bytes after the last row) is signed too.
		if _, err := io.Copy(io.Discard, c.Request.Body); err != nil {
			return err
		}
		return v.Check()
	})
	c.Next()
}

// ctxUploadVerify holds the check of a signed upload's body, run once the body is read.
const ctxUploadVerify = "upload_verify"

// uploadDeadline bounds an upload's reading and answer: the server's 30 s timeouts suit postbacks, not files
// of a million rows, which are staged while they arrive.
const uploadDeadline = 15 * time.Minute

func (h *handlers) extendUploadDeadline(c *gin.Context) {
	rc := http.NewResponseController(c.Writer)
	if err := errors.Join(rc.SetReadDeadline(time.Now().Add(uploadDeadline)), rc.SetWriteDeadline(time.Now().Add(uploadDeadline))); err != nil {
		h.o.Logger.Warn("reconciliation upload keeps the server's timeouts", "error", err)
	}
	c.Next()
}

func (h *handlers) uploadBatch(c *gin.Context) {
	verify, _ := c.Value(ctxUploadVerify).(func() error)
	acc, err := h.o.Reconciliation.Submit(c, reconsvc.File{
		IntegrationID: c.GetString(ctxIntegrationID), Body: c.Request.Body, Source: reconsvc.SourceUpload,
		ContentType: c.GetHeader("Content-Type"), ContentEncoding: c.GetHeader("Content-Encoding"), Verify: verify,
	})
	if err != nil {
		h.fileError(c, err)
		return
	}
	if acc.Duplicate {
		c.JSON(http.StatusOK, gin.H{"batch_id": acc.BatchID, "workflow_id": acc.WorkflowID, "status": "duplicate"})
		return
	}
	c.JSON(http.StatusAccepted, gin.H{"batch_id": acc.BatchID, "workflow_id": acc.WorkflowID, "status": "processing"})
}

// fileError answers a refused file.
func (h *handlers) fileError(c *gin.Context, err error) {
	var fe *recon.FileError
	var tooLarge *http.MaxBytesError
	switch {
	case errors.Is(err, signing.ErrNoMatch):
		abort(c, http.StatusUnauthorized, "invalid_signature", noMatchingSignature+"; nothing was applied")
	case errors.As(err, &fe):
		c.Set(ctxErrorCode, "invalid_file")
		c.AbortWithStatusJSON(http.StatusBadRequest, gin.H{"error": gin.H{
			"code": "invalid_file", "message": fe.Error(), "error_count": fe.Total, "errors": fe.Errors,
		}})
	case errors.Is(err, recon.ErrTooLarge), errors.As(err, &tooLarge):
		abort(c, http.StatusRequestEntityTooLarge, "body_too_large", "the file is larger than the limit (after decompression); nothing was applied")
	case errors.Is(err, recon.ErrUnsupportedFormat):
		abort(c, http.StatusUnsupportedMediaType, "unsupported_media_type", err.Error())
	case errors.Is(err, recon.ErrBadEncoding):
		abort(c, http.StatusBadRequest, "bad_encoding", err.Error())
	case errors.Is(err, reconsvc.ErrUnavailable):
		h.o.Logger.Error("reconciliation batch not started", "error", err)
		abort(c, http.StatusServiceUnavailable, "unavailable", reconsvc.ErrUnavailable.Error())
	case errors.Is(err, io.ErrUnexpectedEOF), c.Request.Context().Err() != nil:
		abort(c, http.StatusBadRequest, "malformed_body", "the upload was cut off; nothing was applied")
	default:
		serviceError(c, h.o.Logger, err)
	}
}

func (h *handlers) batchReport(c *gin.Context) {
	rep, err := h.o.Reconciliation.Batch(c, c.GetString(ctxIntegrationID), c.Param("id"))
	if err != nil {
		h.fileError(c, err)
		return
	}
	b := rep.Batch
	out := gin.H{
		"batch_id": b.ID, "workflow_id": b.WorkflowID, "status": b.Status, "source": b.Source, "rows": b.Rows,
		"first_day": b.FirstDay, "last_day": b.LastDay, "content_sha256": b.ContentSHA256, "created_at": b.CreatedAt,
	}
	if b.Error != "" {
		out["error"] = b.Error
	}
	if b.CompletedAt != nil {
		out["completed_at"] = b.CompletedAt
	}
	if rep.Summary != nil {
		out["counts"], out["currencies"] = rep.Summary.Counts, rep.Summary.Currencies
	}
	c.JSON(http.StatusOK, out)
}

// rowsPage is the largest page of rows in JSON.
const rowsPage = 1000

// batchRows lists a batch's rows that are not matched (or those of ?status=), paged by ?after=<row id>; with
// Accept: text/csv it streams all of them as CSV.
func (h *handlers) batchRows(c *gin.Context) {
	status := c.Query("status")
	if !reconsvc.StatusOK(status) {
		abortField(c, "status", "must be one of "+strings.Join(recon.Statuses, ", "))
		return
	}
	after, err := strconv.ParseUint(c.DefaultQuery("after", "0"), 10, 64)
	if err != nil {
		abortField(c, "after", "must be a row id")
		return
	}
	limit, err := strconv.Atoi(c.DefaultQuery("limit", "100"))
	if err != nil || limit < 1 || limit > rowsPage {
		abortField(c, "limit", "must be from 1 to 1000")
		return
	}
	integrationID, id := c.GetString(ctxIntegrationID), c.Param("id")
	if strings.Contains(c.GetHeader("Accept"), "text/csv") {
		h.batchRowsCSV(c, integrationID, id, status)
		return
	}
	rows, err := h.o.Reconciliation.Rows(c, integrationID, id, status, after, limit)
	if err != nil {
		h.fileError(c, err)
		return
	}
	out := make([]gin.H, len(rows))
	for i, r := range rows {
		out[i] = rowJSON(r)
	}
	resp := gin.H{"rows": out}
	if len(rows) == limit {
		resp["next_after"] = rows[len(rows)-1].ID
	}
	c.JSON(http.StatusOK, resp)
}

var rowColumns = []string{"id", "line", "date", "player_id", "status", "currency", "file_first_deposit", "file_deposits", "file_ngr",
	"realtime_currencies", "realtime_deposits", "realtime_ngr", "deposits_difference", "ngr_difference", "ftd_recorded", "ftd_reversed",
	"affiliate_id", "commission_delta", "commission_currency", "file_volume", "realtime_volume", "volume_difference"}

func rowValues(r store.ReconciliationRow) []string {
	cur := r.Currency
	if !r.InFile {
		cur = r.RTCurrencies
	}
	amount := func(v int64, currency string) string {
		if !money.ValidCurrency(currency) {
			return strconv.FormatInt(v, 10)
		}
		return money.Format(v, currency)
	}
	ftd := ""
	if r.HasFirstDeposit {
		ftd = amount(r.FirstDepositMinor, cur)
	}
	commission := ""
	if r.CommissionCurrency != "" {
		commission = amount(r.CommissionMinor, r.CommissionCurrency)
	}
	volume := []string{"", "", ""} // the file stated none: nothing was compared
	if r.HasVolume {
		volume = []string{postback.FormatLots(r.VolumeLots), postback.FormatLots(r.RTVolumeLots), postback.FormatLots(r.VolumeDeltaLots)}
	}
	return []string{strconv.FormatUint(r.ID, 10), strconv.Itoa(r.Line), r.Day, r.PlayerID, r.Status, cur, ftd,
		amount(r.DepositsMinor, cur), amount(r.NGRMinor, cur), r.RTCurrencies, amount(r.RTDepositsMinor, cur), amount(r.RTNGRMinor, cur),
		amount(r.DepositsDeltaMinor, cur), amount(r.NGRDeltaMinor, cur), strconv.FormatBool(r.FTDRecorded), strconv.FormatBool(r.FTDReversed),
		r.CorrectedFor, commission, r.CommissionCurrency, volume[0], volume[1], volume[2]}
}

func rowJSON(r store.ReconciliationRow) gin.H {
	out := gin.H{}
	for i, v := range rowValues(r) {
		out[rowColumns[i]] = v
	}
	out["id"], out["line"], out["ftd_recorded"], out["ftd_reversed"] = r.ID, r.Line, r.FTDRecorded, r.FTDReversed
	return out
}

// batchRowsCSV streams every matching row, a page at a time, so a large batch never sits in memory.
func (h *handlers) batchRowsCSV(c *gin.Context, integrationID, id, status string) {
	rows, err := h.o.Reconciliation.Rows(c, integrationID, id, status, 0, rowsPage)
	if err != nil {
		h.fileError(c, err)
		return
	}
	c.Header("Content-Type", "text/csv; charset=utf-8")
	c.Header("Content-Disposition", `attachment; filename="reconciliation-`+id+`.csv"`)
	c.Status(http.StatusOK)
	w := csv.NewWriter(c.Writer)
	_ = w.Write(rowColumns)
	for len(rows) > 0 {
		for _, r := range rows {
			_ = w.Write(rowValues(r))
		}
		if len(rows) < rowsPage {
			break
		}
		if rows, err = h.o.Reconciliation.Rows(c, integrationID, id, status, rows[len(rows)-1].ID, rowsPage); err != nil {
			h.o.Logger.Error("reconciliation rows CSV cut short", "batch_id", id, "error", err)
			break
		}
	}
	w.Flush()
}
