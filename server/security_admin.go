package server

import (
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/affrelay/affrelay/clientip"
	"github.com/affrelay/affrelay/eventplan"
	"github.com/affrelay/affrelay/service/audit"
	"github.com/affrelay/affrelay/store"
)

// Bounds on per-integration security settings.
const (
	maxToleranceSeconds = 3600
	maxRateLimitRPS     = 100000
	maxRateLimitBurst   = 100000
	maxAllowlistEntries = 100
)

var signatureSchemes = []string{store.SchemeStandardWebhooks, store.SchemeHMACSHA256}

// headersNotForSignatures are headers a signature must not be read from: they mean something else.
var headersNotForSignatures = []string{headerAPIKey, "Authorization", "Content-Type", "Content-Length", headerHMACTimestamp, headerRequestID}

type securityJSON struct {
	AllowQueryToken  bool     `json:"allow_query_token"`
	SignatureScheme  string   `json:"signature_scheme"`
	SignatureHeader  string   `json:"signature_header,omitempty"`
	ToleranceSeconds int      `json:"tolerance_seconds,omitempty"`
	IPAllowlist      []string `json:"ip_allowlist"`
	RateLimitRPS     float64  `json:"rate_limit_rps,omitempty"`
	RateLimitBurst   int      `json:"rate_limit_burst,omitempty"`
	SecretMaxAgeDays int      `json:"secret_max_age_days,omitempty"` // 0: secret.max_age
}

func integrationResponse(in store.Integration) gin.H {
	sec := in.Security
	scheme := sec.SignatureScheme
	if scheme == "" {
		scheme = store.SchemeStandardWebhooks
	}
	list := []string{}
	if sec.IPAllowlist != "" {
		list = strings.Split(sec.IPAllowlist, ",")
	}
	out := gin.H{"id": in.ID, "name": in.Name, "created_at": in.CreatedAt, "security": securityJSON{
		AllowQueryToken: sec.AllowQueryToken, SignatureScheme: scheme, SignatureHeader: sec.SignatureHeader,
		ToleranceSeconds: sec.ToleranceSeconds, IPAllowlist: list, RateLimitRPS: sec.RateLimitRPS, RateLimitBurst: sec.RateLimitBurst,
		SecretMaxAgeDays: sec.SecretMaxAgeDays,
	}}
	mappingFields(in, out)
	return out
}

// getIntegration answers the integration with its settings and its signing secrets' ages.
func (h *handlers) getIntegration(c *gin.Context) {
	in, err := h.o.Integrations.Integration(c, c.Param("id"))
	if err != nil {
		serviceError(c, h.o.Logger, err)
		return
	}
	secs, err := h.o.Integrations.SigningSecrets(c, in.ID)
	if err != nil {
		serviceError(c, h.o.Logger, err)
		return
	}
	out := integrationResponse(in)
	list := make([]secretJSON, len(secs))
	for i, s := range secs {
		list[i] = h.secretResponse(s)
	}
	out["signing_secrets"] = list
	c.JSON(http.StatusOK, out)
}

// updateIntegration changes the fields given and leaves the others; zero numbers mean the configured defaults.
func (h *handlers) updateIntegration(c *gin.Context) {
	var req struct {
		AllowQueryToken  *bool     `json:"allow_query_token"`
		SignatureScheme  *string   `json:"signature_scheme"`
		SignatureHeader  *string   `json:"signature_header"`
		ToleranceSeconds *int      `json:"tolerance_seconds"`
		IPAllowlist      *[]string `json:"ip_allowlist"`
		RateLimitRPS     *float64  `json:"rate_limit_rps"`
		RateLimitBurst   *int      `json:"rate_limit_burst"`
		SecretMaxAgeDays *int      `json:"secret_max_age_days"`
	}
	if !decodeJSON(c, &req) {
		return
	}
	in, err := h.o.Integrations.Integration(c, c.Param("id"))
	if err != nil {
		serviceError(c, h.o.Logger, err)
		return
	}
	sec := in.Security
	if req.AllowQueryToken != nil {
		sec.AllowQueryToken = *req.AllowQueryToken
	}
	if req.SignatureScheme != nil {
		if !slices.Contains(signatureSchemes, *req.SignatureScheme) {
			abortField(c, "signature_scheme", fmt.Sprintf("%q is not one of %s", *req.SignatureScheme, strings.Join(signatureSchemes, ", ")))
			return
		}
		sec.SignatureScheme = *req.SignatureScheme
	}
	if req.SignatureHeader != nil {
		if msg := checkSignatureHeader(*req.SignatureHeader); msg != "" {
			abortField(c, "signature_header", msg)
			return
		}
		sec.SignatureHeader = http.CanonicalHeaderKey(*req.SignatureHeader)
	}
	if req.ToleranceSeconds != nil {
		if *req.ToleranceSeconds < 0 || *req.ToleranceSeconds > maxToleranceSeconds {
			abortField(c, "tolerance_seconds", fmt.Sprintf("must be from 1 to %d, or 0 for the default", maxToleranceSeconds))
			return
		}
		sec.ToleranceSeconds = *req.ToleranceSeconds
	}
	if req.IPAllowlist != nil {
		if listTooLong(c, "ip_allowlist", len(*req.IPAllowlist), maxAllowlistEntries) {
			return
		}
		prefixes, err := clientip.ParsePrefixes(strings.Join(*req.IPAllowlist, ","))
		if err == nil && len(prefixes) != len(*req.IPAllowlist) {
			err = fmt.Errorf("has an empty entry")
		}
		if err != nil {
			abortField(c, "ip_allowlist", err.Error())
			return
		}
		cidrs := make([]string, len(prefixes))
		for i, p := range prefixes {
			cidrs[i] = p.String()
		}
		sec.IPAllowlist = strings.Join(cidrs, ",")
	}
	if req.RateLimitRPS != nil {
		if !(*req.RateLimitRPS >= 0 && *req.RateLimitRPS <= maxRateLimitRPS) {
			abortField(c, "rate_limit_rps", fmt.Sprintf("must be from 0 (the default) to %d", maxRateLimitRPS))
			return
		}
		sec.RateLimitRPS = *req.RateLimitRPS
	}
	if req.SecretMaxAgeDays != nil {
		if !validSecretMaxAgeDays(c, *req.SecretMaxAgeDays) {
			return
		}
		sec.SecretMaxAgeDays = *req.SecretMaxAgeDays
	}
	if req.RateLimitBurst != nil {
		if *req.RateLimitBurst < 0 || *req.RateLimitBurst > maxRateLimitBurst {
			abortField(c, "rate_limit_burst", fmt.Sprintf("must be from 0 (the default) to %d", maxRateLimitBurst))
			return
		}
		sec.RateLimitBurst = *req.RateLimitBurst
	}
	in, err = h.o.Integrations.SetInboundSecurity(c, in.ID, sec)
	if err != nil {
		serviceError(c, h.o.Logger, err)
		return
	}
	c.JSON(http.StatusOK, integrationResponse(in))
}

func checkSignatureHeader(name string) string {
	if name == "" || len(name) > 64 {
		return "must be a header name of 1 to 64 characters"
	}
	for _, r := range name {
		if !(r == '-' || r == '_' || r >= '0' && r <= '9' || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z') {
			return fmt.Sprintf("%q is not a header name (letters, digits, - and _)", name)
		}
	}
	for _, h := range headersNotForSignatures {
		if strings.EqualFold(h, name) {
			return fmt.Sprintf("%s carries something else; choose another header", h)
		}
	}
	return ""
}

type keyJSON struct {
	ID        string     `json:"id"`
	Label     string     `json:"label"`
	Prefix    string     `json:"prefix"`
	CreatedAt time.Time  `json:"created_at"`
	RevokedAt *time.Time `json:"revoked_at,omitempty"`
	APIKey    string     `json:"api_key,omitempty"` // only in the answer that created it
}

func keyResponse(k store.APIKey) keyJSON {
	return keyJSON{ID: k.ID, Label: k.Label, Prefix: k.Prefix, CreatedAt: k.CreatedAt, RevokedAt: k.RevokedAt}
}

func (h *handlers) createKey(c *gin.Context) {
	var req struct {
		Label string `json:"label"`
	}
	if !decodeJSON(c, &req) {
		return
	}
	if msg := checkName(req.Label); msg != "" {
		abortField(c, "label", msg)
		return
	}
	k, key, err := h.o.Integrations.CreateAPIKey(c, c.Param("id"), req.Label)
	if err != nil {
		serviceError(c, h.o.Logger, err)
		return
	}
	out := keyResponse(k)
	out.APIKey = key
	c.JSON(http.StatusCreated, out)
}

func (h *handlers) listKeys(c *gin.Context) {
	keys, err := h.o.Integrations.APIKeys(c, c.Param("id"))
	respondList(c, h.o.Logger, "keys", keys, err, keyResponse)
}

func (h *handlers) revokeKey(c *gin.Context) {
	k, err := h.o.Integrations.RevokeAPIKey(c, c.Param("id"), c.Param("key_id"), h.o.Now())
	if err != nil {
		serviceError(c, h.o.Logger, err)
		return
	}
	c.JSON(http.StatusOK, keyResponse(k))
}

type secretJSON struct {
	ID        string     `json:"id"`
	Prefix    string     `json:"prefix"`
	CreatedAt time.Time  `json:"created_at"`
	ExpiresAt *time.Time `json:"expires_at,omitempty"`
	// AgeDays is the secret's age in whole days on the secret-age clock (secret.clock_offset moves it).
	AgeDays             int        `json:"age_days"`
	ExpiringAnnouncedAt *time.Time `json:"expiring_announced_at,omitempty"`
	Secret              string     `json:"secret,omitempty"` // only in the answer that created it
}

// secretResponse renders signing secrets with their ages at the secret-age clock's now.
func (h *handlers) secretResponse(s store.SigningSecret) secretJSON {
	return secretJSON{ID: s.ID, Prefix: s.Prefix, CreatedAt: s.CreatedAt, ExpiresAt: s.ExpiresAt,
		AgeDays: eventplan.SecretAgeDays(s.CreatedAt, h.o.Now().Add(h.o.Security.SecretClockOffset)), ExpiringAnnouncedAt: s.ExpiringAnnouncedAt}
}

// maxSecretMaxAgeDays bounds an integration's or subscription's own maximum secret age (ten years).
const maxSecretMaxAgeDays = 3650

func validSecretMaxAgeDays(c *gin.Context, days int) bool {
	if days < 0 || days > maxSecretMaxAgeDays {
		abortField(c, "secret_max_age_days", fmt.Sprintf("must be from 1 to %d days, or 0 for the default (secret.max_age)", maxSecretMaxAgeDays))
		return false
	}
	return true
}

func (h *handlers) addSecret(c *gin.Context) {
	var req struct {
		ExpiresAt *time.Time `json:"expires_at"`
	}
	if c.Request.ContentLength != 0 && !decodeJSON(c, &req) {
		return
	}
	if req.ExpiresAt != nil && !req.ExpiresAt.After(h.o.Now()) {
		abortField(c, "expires_at", "must be in the future")
		return
	}
	sec, err := h.o.Integrations.AddSigningSecret(c, c.Param("id"), req.ExpiresAt)
	if err != nil {
		serviceError(c, h.o.Logger, err)
		return
	}
	out := h.secretResponse(sec)
	out.Secret = sec.Secret
	c.JSON(http.StatusCreated, out)
}

func (h *handlers) listSecrets(c *gin.Context) {
	secs, err := h.o.Integrations.SigningSecrets(c, c.Param("id"))
	respondList(c, h.o.Logger, "secrets", secs, err, h.secretResponse)
}

func (h *handlers) expireSecret(c *gin.Context) {
	sec, err := h.o.Integrations.ExpireSigningSecret(c, c.Param("id"), c.Param("secret_id"), h.o.Now())
	if err != nil {
		serviceError(c, h.o.Logger, err)
		return
	}
	c.JSON(http.StatusOK, h.secretResponse(sec))
}

type requestJSON struct {
	Time          time.Time `json:"time"`
	RequestID     string    `json:"request_id"`
	IntegrationID string    `json:"integration_id,omitempty"`
	KeyID         string    `json:"key_id,omitempty"`
	Method        string    `json:"method"`
	Path          string    `json:"path"`
	Status        int       `json:"status"`
	LatencyMS     float64   `json:"latency_ms"`
	ClientIP      string    `json:"client_ip"`
}

func (h *handlers) listRequests(c *gin.Context) {
	f := audit.RequestFilter{IntegrationID: c.Query("integration")}
	if v := c.Query("status"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 100 || n > 599 {
			abortField(c, "status", "must be an HTTP status code from 100 to 599")
			return
		}
		f.Status = n
	}
	if v := c.Query("since"); v != "" {
		t, err := time.Parse(time.RFC3339, v)
		if err != nil {
			abortField(c, "since", "must be an RFC 3339 time such as 2026-01-02T15:04:05Z")
			return
		}
		f.Since = t
	}
	var ok bool
	if f.Limit, ok = queryLimit(c, 100); !ok {
		return
	}
	rows, err := h.o.Requests.Requests(c, f)
	respondList(c, h.o.Logger, "requests", rows, err, func(r store.AuditRecord) requestJSON {
		return requestJSON{
			Time: r.Time, RequestID: r.RequestID, IntegrationID: r.IntegrationID, KeyID: r.KeyID, Method: r.Method,
			Path: r.Path, Status: r.Status, LatencyMS: float64(r.LatencyMicros) / 1000, ClientIP: r.ClientIP,
		}
	})
}

// rotateSecretsKey re-seals every secret kept at rest under the configured current key.
func (h *handlers) rotateSecretsKey(c *gin.Context) {
	resealed, err := h.o.Integrations.ResealSecrets(c)
	if err != nil {
		serviceError(c, h.o.Logger, err)
		return
	}
	c.JSON(http.StatusOK, gin.H{"resealed": resealed})
}
