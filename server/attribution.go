package server

import (
	"cmp"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"

	"github.com/gin-gonic/gin"

	"github.com/affrelay/affrelay/postback"
)

// Limits of the click tracker's parameters, in bytes.
const (
	maxAffiliateCode = postback.MaxIDLength
	maxLandingURL    = 2048
	maxLandingHosts  = 50
)

// click records a visit through a tracking link, GET /c/{affiliate_code}?sub1..sub5&to=<landing URL>, and
// redirects (302) to the landing URL with click_id added. Its parameters follow the postback field rules
// (postback.Fields.Value): given once, bounded, valid UTF-8 without control characters.
func (h *handlers) click(c *gin.Context) {
	query, err := url.ParseQuery(c.Request.URL.RawQuery)
	if err != nil {
		abort(c, http.StatusBadRequest, "invalid_request", "query string: "+err.Error())
		return
	}
	fields := postback.Fields(query)
	fields["affiliate_code"] = []string{c.Param("affiliate_code")}
	code, err := fields.Value("affiliate_code", true, maxAffiliateCode)
	if err == nil && strings.TrimSpace(code) != code {
		err = &postback.FieldError{Field: "affiliate_code", Message: "must not start or end with white space"}
	}
	to, terr := fields.Value("to", true, maxLandingURL)
	err = cmp.Or(err, terr)
	var subs [5]string
	for i, name := range postback.SubFields {
		var serr error
		subs[i], serr = fields.Value(name, false, postback.MaxSubLength)
		err = cmp.Or(err, serr)
	}
	var fe *postback.FieldError
	if errors.As(err, &fe) {
		abortField(c, fe.Field, fe.Message)
		return
	}
	_, redirect, err := h.o.Conversions.RecordClick(c, code, subs, to, clickVisitor(c.GetString(ctxClientIP), c.Request.UserAgent()))
	if err != nil {
		serviceError(c, h.o.Logger, err)
		return
	}
	c.Header("Cache-Control", "no-store") // every visit is a new click
	c.Redirect(http.StatusFound, redirect)
}

// clickVisitor names the visitor behind a click for counting unique clicks: a hash of the client address and
// user agent, so the address itself is not kept with the click.
func clickVisitor(clientIP, userAgent string) string {
	sum := sha256.Sum256([]byte(clientIP + "\n" + userAgent))
	return hex.EncodeToString(sum[:16])
}

func (h *handlers) setLandingHosts(c *gin.Context) {
	var req struct {
		Hosts []string `json:"hosts"`
	}
	if !decodeJSON(c, &req) {
		return
	}
	if listTooLong(c, "hosts", len(req.Hosts), maxLandingHosts) {
		return
	}
	for i, host := range req.Hosts {
		if !validHost(host) {
			abortField(c, fmt.Sprintf("hosts[%d]", i), fmt.Sprintf("%q is not a lower-case host name such as casino.example (no scheme, port or path)", host))
			return
		}
	}
	in, err := h.o.Integrations.SetLandingHosts(c, c.Param("id"), req.Hosts)
	if err != nil {
		serviceError(c, h.o.Logger, err)
		return
	}
	c.JSON(http.StatusOK, gin.H{"id": in.ID, "landing_hosts": req.Hosts})
}

func validHost(h string) bool {
	if h == "" || len(h) > 253 || strings.HasPrefix(h, ".") || strings.HasSuffix(h, ".") || strings.Contains(h, "..") {
		return false
	}
	for _, r := range h {
		if !(r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r == '-' || r == '.') {
			return false
		}
	}
	return true
}

// unattributed lists conversions of [from, to) that earn no affiliate, with the reason.
func (h *handlers) unattributed(c *gin.Context) {
	from, to, ok := reportRange(c)
	if !ok {
		return
	}
	limit, ok := queryLimit(c, 100)
	if !ok {
		return
	}
	rows, err := h.o.Conversions.UnattributedConversions(c, from, to, limit)
	if err != nil {
		serviceError(c, h.o.Logger, err)
		return
	}
	out := make([]gin.H, len(rows))
	for i, r := range rows {
		out[i] = gin.H{
			"integration_id": r.IntegrationID, "event_id": r.EventID, "event": r.Event, "affiliate_id": r.AffiliateID,
			"click_id": r.ClickID, "player_id": r.PlayerID, "occurred_at": r.OccurredAt, "reason": r.Reason,
		}
	}
	c.JSON(http.StatusOK, gin.H{"conversions": out})
}

// conversionRequest answers the postback an event was recorded from, as received (credentials redacted) and
// answered.
func (h *handlers) conversionRequest(c *gin.Context) {
	r, err := h.o.Conversions.ReceivedRequest(c, c.Param("integration"), c.Param("event_id"))
	if err != nil {
		serviceError(c, h.o.Logger, err)
		return
	}
	c.JSON(http.StatusOK, gin.H{
		"integration_id": c.Param("integration"), "event_id": c.Param("event_id"), "request_id": r.RequestID,
		"method": r.Method, "path": r.Path, "query": r.Query, "headers": r.Headers,
		"body": r.Body, "body_encoding": r.BodyEncoding, "body_size": r.BodySize, "body_sha256": r.BodySHA256,
		"client_ip": r.ClientIP, "received_at": r.ReceivedAt, "key_id": r.KeyID, "signature_verdict": r.SignatureVerdict,
		"response": gin.H{"status": r.ResponseStatus, "body": r.ResponseBody},
	})
}
