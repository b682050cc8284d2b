// Package outbound sends affrelay's outbound HTTP messages (postbacks and webhooks) and signs webhooks.
package outbound

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/affrelay/affrelay/signing"
)

// MaxStoredResponseBytes is how much of a receiver's response body is kept.
const MaxStoredResponseBytes = 4 << 10

// NewClient returns a pooled, keep-alive HTTP client that never follows redirects and connects only to public
// addresses, or to those the allowlist names (see Allowlist). Nothing limits connections per host, so a slow
// receiver holds only its own requests. With HTTP(S)_PROXY set, the proxy is what is dialled and checked.
func NewClient(timeout time.Duration, allow Allowlist) *http.Client {
	transport := &http.Transport{
		Proxy:                 http.ProxyFromEnvironment,
		DialContext:           guardedDial(&net.Dialer{Timeout: timeout, KeepAlive: 30 * time.Second}, allow),
		MaxIdleConns:          256,
		MaxIdleConnsPerHost:   32,
		IdleConnTimeout:       90 * time.Second,
		TLSHandshakeTimeout:   timeout,
		ResponseHeaderTimeout: timeout,
	}
	return &http.Client{
		Transport: transport,
		Timeout:   timeout,
		// A redirect is the receiver's misconfiguration; following it could leak the payload elsewhere.
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
}

// Request is one outbound message.
type Request struct {
	Method string
	URL    string
	Body   string
	Header http.Header
}

// Response is what the receiver answered; StatusCode is 0 when no response arrived.
type Response struct {
	StatusCode int
	Header     http.Header
	Body       string
}

// SentHeader is the header Send sends: the request's own and the User-Agent.
func (r Request) SentHeader() http.Header {
	h := r.Header.Clone()
	if h == nil {
		h = http.Header{}
	}
	h.Set("User-Agent", "affrelay/1")
	return h
}

// Send performs the request once.
func Send(ctx context.Context, c *http.Client, r Request) (Response, error) {
	var body io.Reader
	if r.Body != "" {
		body = strings.NewReader(r.Body)
	}
	req, err := http.NewRequestWithContext(ctx, r.Method, r.URL, body)
	if err != nil {
		return Response{Header: http.Header{}}, err
	}
	req.Header = r.SentHeader()
	resp, err := c.Do(req)
	if err != nil {
		return Response{Header: http.Header{}}, err
	}
	defer resp.Body.Close()
	// A body cut short by the receiver still tells us what it answered; the status code decides.
	buf, _ := io.ReadAll(io.LimitReader(resp.Body, MaxStoredResponseBytes))
	// Drain a little more so the keep-alive connection can be reused; give up on huge bodies.
	_, _ = io.CopyN(io.Discard, resp.Body, 64<<10)
	return Response{StatusCode: resp.StatusCode, Header: resp.Header, Body: strings.ToValidUTF8(string(buf), "\uFFFD")}, nil
}

// WebhookHeaders are the Standard Webhooks headers of one attempt: the id stays the same on every retry, the
// timestamp is the attempt's, and the signature holds one entry per active secret.
func WebhookHeaders(secrets []string, id string, at time.Time, body string) (http.Header, error) {
	keys := make([][]byte, len(secrets))
	for i, s := range secrets {
		k, err := signing.DecodeSecret(s)
		if err != nil {
			return nil, fmt.Errorf("signing secret %d of %d: %w", i+1, len(secrets), err)
		}
		keys[i] = k
	}
	h := http.Header{}
	h.Set(signing.HeaderID, id)
	h.Set(signing.HeaderTimestamp, strconv.FormatInt(at.Unix(), 10))
	h.Set(signing.HeaderSignature, signing.SignatureHeader(keys, id, at, []byte(body)))
	h.Set("Content-Type", "application/json")
	return h, nil
}
