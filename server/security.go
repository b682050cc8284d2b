package server

import (
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/netip"
	"strconv"
	"sync"
	"time"

	"github.com/gin-gonic/gin"
	"golang.org/x/time/rate"

	"github.com/affrelay/affrelay/apperr"
	"github.com/affrelay/affrelay/clientip"
	"github.com/affrelay/affrelay/postback"
	"github.com/affrelay/affrelay/signing"
	"github.com/affrelay/affrelay/store"
)

// Context keys set by the security middleware.
const (
	ctxRequestID = "request_id"
	ctxClientIP  = "client_ip"
	ctxSecurity  = "inbound_security"
	ctxRawBody   = "raw_body"
	// ctxSignatureVerdict says how the request's signature was judged, kept in its place as evidence.
	ctxSignatureVerdict = "signature_verdict"
)

// Names a sender uses on the wire.
const (
	headerAPIKey         = "X-API-Key"
	headerRequestID      = "X-Request-Id"
	queryToken           = postback.ParamToken
	defaultHMACHeader    = "X-Signature"
	headerHMACTimestamp  = "X-Timestamp"
	querySignature       = postback.ParamSignature
	querySignedTimestamp = postback.ParamSignedTimestamp
	maxAuditPathBytes    = 512
	retryAfterMaxSeconds = 3600
)

// identify gives every request an id (sent back as X-Request-Id) and resolves the client's address:
// the socket peer, or X-Forwarded-For read right to left when the peer is a trusted proxy.
func identify(trusted []netip.Prefix) gin.HandlerFunc {
	return func(c *gin.Context) {
		id := store.NewID("req")
		c.Set(ctxRequestID, id)
		c.Header(headerRequestID, id)
		peer, err := netip.ParseAddrPort(c.Request.RemoteAddr)
		ip := ""
		if err == nil {
			ip = clientip.Resolve(peer.Addr(), c.Request.Header.Values("X-Forwarded-For"), trusted).String()
		}
		c.Set(ctxClientIP, ip)
		c.Next()
	}
}

// audit stores one row per API call once the answer is known. It never stores the query string, which may
// carry a token or signature. The path is stored escaped: plain ASCII, whatever bytes a client sent.
func (h *handlers) audit(c *gin.Context) {
	start := time.Now()
	c.Next()
	path := c.Request.URL.EscapedPath()
	if len(path) > maxAuditPathBytes {
		path = path[:maxAuditPathBytes]
	}
	recording := time.Now()
	h.o.Audit.Record(store.AuditRecord{
		Time: start.UTC(), RequestID: c.GetString(ctxRequestID), IntegrationID: c.GetString(ctxIntegrationID),
		KeyID: c.GetString(ctxKeyID), Method: c.Request.Method, Path: path, Status: c.Writer.Status(),
		LatencyMicros: recording.Sub(start).Microseconds(), ClientIP: c.GetString(ctxClientIP),
	})
	h.metrics.timePhase(phaseAudit, recording)
}

// authenticateKey resolves the X-API-Key header (or, where the integration allows it, the token query
// parameter) to an integration and its security settings.
func (h *handlers) authenticateKey(c *gin.Context) {
	key, fromQuery := c.GetHeader(headerAPIKey), false
	if key == "" {
		key, fromQuery = c.Query(queryToken), true
	}
	looking := time.Now()
	in, keyID, err := h.o.Integrations.Authenticate(c, key)
	if errors.Is(err, apperr.ErrUnauthorized) {
		abort(c, http.StatusUnauthorized, "unauthorized", "missing or unknown API key in the X-API-Key header")
		return
	}
	if err != nil {
		internalError(c, h.o.Logger, err)
		return
	}
	integrationID := in.ID
	h.metrics.timePhase(phaseAuthenticate, looking)
	if fromQuery && !in.Security.AllowQueryToken {
		abort(c, http.StatusUnauthorized, "unauthorized", "this integration does not accept the API key as a query parameter; send the X-API-Key header")
		return
	}
	mapping, err := h.mappings.get(in)
	if err != nil { // validated when set; a bad stored mapping must fail closed
		internalError(c, h.o.Logger, fmt.Errorf("integration %s: %w", integrationID, err))
		return
	}
	c.Set(ctxIntegrationID, integrationID)
	c.Set(ctxKeyID, keyID)
	c.Set(ctxSecurity, in.Security)
	c.Set(ctxMapping, mapping)
	c.Set(ctxIdempotencyKey, in.IdempotencyKey)
	c.Next()
}

func security(c *gin.Context) store.InboundSecurity {
	return c.MustGet(ctxSecurity).(store.InboundSecurity)
}

// allowIP refuses a client outside the integration's IP allowlist (an empty list allows everyone).
func (h *handlers) allowIP(c *gin.Context) {
	list, err := clientip.ParsePrefixes(security(c).IPAllowlist)
	if err != nil { // validated when set; a bad stored list must fail closed
		internalError(c, h.o.Logger, fmt.Errorf("integration %s: stored IP allowlist: %w", c.GetString(ctxIntegrationID), err))
		return
	}
	if len(list) == 0 {
		c.Next()
		return
	}
	addr, err := netip.ParseAddr(c.GetString(ctxClientIP))
	if err != nil || !clientip.In(addr, list) {
		abort(c, http.StatusForbidden, "ip_not_allowed", "requests from "+c.GetString(ctxClientIP)+" are not allowed for this integration")
		return
	}
	c.Next()
}

// keyLimiters holds one token bucket per API key. Only authenticated key ids get one, so the map is bounded
// by the number of keys.
type keyLimiters struct {
	byKey sync.Map // key id → *rate.Limiter
}

// allow takes a token from the key's bucket, resizing it when the integration's settings changed; it returns
// how long to wait when none is left.
func (l *keyLimiters) allow(keyID string, rps float64, burst int, now time.Time) (time.Duration, bool) {
	v, _ := l.byKey.LoadOrStore(keyID, rate.NewLimiter(rate.Limit(rps), burst))
	lim := v.(*rate.Limiter)
	if lim.Limit() != rate.Limit(rps) {
		lim.SetLimitAt(now, rate.Limit(rps))
	}
	if lim.Burst() != burst {
		lim.SetBurstAt(now, burst)
	}
	return take(lim, now)
}

// rateLimit applies the key's token bucket: 429 with Retry-After when it is empty.
func (h *handlers) rateLimit(c *gin.Context) {
	sec := security(c)
	rps, burst := sec.RateLimitRPS, sec.RateLimitBurst
	if rps <= 0 {
		rps = h.o.Security.RateLimitRPS
	}
	if burst <= 0 {
		burst = h.o.Security.RateLimitBurst
	}
	wait, ok := h.limiters.allow(c.GetString(ctxKeyID), rps, burst, h.o.Now())
	if !ok {
		tooManyRequests(c, wait, "this API key")
		return
	}
	c.Next()
}

// bufferBody reads the body once, under the size limit, so the signature is checked over the exact bytes
// received and the handler parses those same bytes.
func bufferBody(c *gin.Context) {
	body, err := io.ReadAll(c.Request.Body)
	if err != nil {
		bodyError(c, err)
		return
	}
	c.Set(ctxRawBody, body)
	c.Next()
}

// verifySignature requires a valid signature once the integration has an active secret.
func (h *handlers) verifySignature(c *gin.Context) {
	now := h.o.Now()
	secrets, err := h.o.Integrations.ActiveSecrets(c, c.GetString(ctxIntegrationID), now)
	if err != nil {
		internalError(c, h.o.Logger, err)
		return
	}
	if len(secrets) == 0 {
		c.Set(ctxSignatureVerdict, "not required: the integration has no active signing secret")
		c.Next()
		return
	}
	h.verifySignatureWith(c, secrets, now)
}

// verifySignatureWith requires a valid signature by one of secrets, the integration's active secrets at now
// (looked up once by the middleware that calls it), over the buffered body.
func (h *handlers) verifySignatureWith(c *gin.Context, secrets []string, now time.Time) {
	v, tolerance, verr := h.startVerification(c, secrets, now)
	if verr == nil && v != nil {
		_, _ = v.Write(c.MustGet(ctxRawBody).([]byte))
		verr = v.Check()
	}
	if h.signatureAccepted(c, verr, tolerance) {
		c.Next()
	}
}

// startVerification checks what of a request's signature can be checked before its body is read: the
// headers and timestamp, and for an hmac-sha256 GET the signed query (then the verifier is nil). The body's
// bytes go through the verifier returned.
func (h *handlers) startVerification(c *gin.Context, secrets []string, now time.Time) (*signing.BodyVerifier, time.Duration, error) {
	sec := security(c)
	tolerance := h.o.Security.SignatureTolerance
	if sec.ToleranceSeconds > 0 {
		tolerance = time.Duration(sec.ToleranceSeconds) * time.Second
	}
	if sec.SignatureScheme == store.SchemeHMACSHA256 {
		v, err := startHMAC(c, sec, secrets, now, tolerance)
		return v, tolerance, err
	}
	keys := make([][]byte, 0, len(secrets))
	for _, s := range secrets {
		if k, err := signing.DecodeSecret(s); err == nil {
			keys = append(keys, k)
		}
	}
	v, err := signing.NewVerifier(keys, c.GetHeader(signing.HeaderID), c.GetHeader(signing.HeaderTimestamp),
		c.GetHeader(signing.HeaderSignature), now, tolerance)
	return v, tolerance, err
}

// signatureAccepted answers a request whose signature failed (verr) and says whether it may go on; it also
// refuses a query field the signature does not cover.
func (h *handlers) signatureAccepted(c *gin.Context, verr error, tolerance time.Duration) bool {
	sec := security(c)
	switch {
	case verr == nil:
		c.Set(ctxSignatureVerdict, "valid ("+signatureScheme(sec)+")")
	case errors.Is(verr, signing.ErrStaleTimestamp):
		abort(c, http.StatusUnauthorized, "stale_timestamp", fmt.Sprintf("the signed timestamp is more than %s from the server's time", tolerance))
		return false
	case errors.Is(verr, signing.ErrBadTimestamp):
		abort(c, http.StatusUnauthorized, "invalid_timestamp", "the signed timestamp is not a Unix time in seconds")
		return false
	case errors.Is(verr, signing.ErrMissingHeaders), errors.Is(verr, signing.ErrMissingSignature):
		abort(c, http.StatusUnauthorized, "missing_signature", "this integration requires signed requests: "+verr.Error())
		return false
	default:
		abort(c, http.StatusUnauthorized, "invalid_signature", noMatchingSignature)
		return false
	}
	// Only an hmac-sha256 GET signs its query string; elsewhere the signature covers the body alone, and a
	// query field beside it could change the event unsigned.
	if sec.SignatureScheme != store.SchemeHMACSHA256 || c.Request.Method != http.MethodGet {
		for name := range c.Request.URL.Query() {
			if name != queryToken {
				abort(c, http.StatusBadRequest, "unsigned_query", "with this integration's signature scheme every field goes in the signed body; the query parameter "+strconv.Quote(name)+" is not covered by the signature")
				return false
			}
		}
	}
	return true
}

const noMatchingSignature = "no signature matches an active secret of this integration"

func signatureScheme(sec store.InboundSecurity) string {
	if sec.SignatureScheme == "" {
		return store.SchemeStandardWebhooks
	}
	return sec.SignatureScheme
}

// startHMAC checks the hmac-sha256 scheme: a GET's signed query string at once; otherwise the signature and
// timestamp headers, returning the verifier of "<timestamp>.<body>".
func startHMAC(c *gin.Context, sec store.InboundSecurity, secrets []string, now time.Time, tolerance time.Duration) (*signing.BodyVerifier, error) {
	keys := make([][]byte, len(secrets))
	for i, s := range secrets {
		keys[i] = []byte(s)
	}
	header := sec.SignatureHeader
	if header == "" {
		header = defaultHMACHeader
	}
	if c.Request.Method == http.MethodGet {
		sig := c.GetHeader(header)
		if sig == "" {
			sig = c.Query(querySignature)
		}
		payload := signing.HMACQueryPayload(c.Request.URL.RawQuery, querySignature)
		return nil, signing.VerifyHMAC(keys, payload, sig, c.Query(querySignedTimestamp), now, tolerance)
	}
	ts := c.GetHeader(headerHMACTimestamp)
	return signing.NewHMACBodyVerifier(keys, c.GetHeader(header), ts, now, tolerance)
}
