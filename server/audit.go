package server

import (
	"net/http"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/affrelay/affrelay/auditchain"
	"github.com/affrelay/affrelay/service/audit"
)

// verifyAudit recomputes the audit chain over ?from= to ?to= (RFC 3339 times or dates, both optional), compares
// the row at ?checkpoint=<seq>:<hash> (a copy kept outside) with it, and answers the report: a chain that does
// not fit is a 200 naming the first row that does not, never an error.
func (h *handlers) verifyAudit(c *gin.Context) {
	from, ok := queryTime(c, "from")
	if !ok {
		return
	}
	to, ok := queryTime(c, "to")
	if !ok {
		return
	}
	if !from.IsZero() && !to.IsZero() && !to.After(from) {
		abortField(c, "to", "must be after from")
		return
	}
	req := audit.VerifyRequest{From: from, To: to}
	if v := c.Query("checkpoint"); v != "" {
		cp, err := auditchain.ParseAnchor(v)
		if err != nil {
			abortField(c, "checkpoint", "must be <seq>:<hash> as an audit.checkpoint event sent them: "+err.Error())
			return
		}
		req.Checkpoint = &cp
	}
	report, err := h.o.Requests.Verify(c, req)
	if err != nil {
		serviceError(c, h.o.Logger, err)
		return
	}
	c.JSON(http.StatusOK, report)
}

// queryTime reads the query parameter name as an RFC 3339 time or a date (its UTC midnight); absent is zero.
// Malformed: a 400 naming it, and false.
func queryTime(c *gin.Context, name string) (time.Time, bool) {
	v := c.Query(name)
	if v == "" {
		return time.Time{}, true
	}
	if t, err := time.Parse(time.RFC3339, v); err == nil {
		return t, true
	}
	if t, err := time.Parse(time.DateOnly, v); err == nil {
		return t, true
	}
	abortField(c, name, "must be an RFC 3339 time such as 2026-01-02T15:04:05Z or a date such as 2026-01-02")
	return time.Time{}, false
}
