package retrypolicy

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"math"
	"net"
	"net/url"
	"os"
	"syscall"
	"testing"
	"time"
)

func TestOutcomeString(t *testing.T) {
	tests := []struct {
		o    Outcome
		want string
	}{
		{Delivered, "delivered"},
		{Retryable, "retryable"},
		{Permanent, "permanent"},
		{Gone, "gone"},
		{0, "Outcome(0)"},
		{42, "Outcome(42)"},
	}
	for _, tt := range tests {
		if got := tt.o.String(); got != tt.want {
			t.Errorf("Outcome(%d).String() = %q; want %q", int(tt.o), got, tt.want)
		}
	}
}

// now is a fixed instant; HTTP-dates in the tests are relative to it.
var now = time.Date(2025, time.March, 10, 12, 0, 0, 0, time.UTC)

func TestClassifyStatus(t *testing.T) {
	tests := []struct {
		status int
		want   Verdict
	}{
		{200, Verdict{Outcome: Delivered, Reason: "HTTP 200"}},
		{201, Verdict{Outcome: Delivered, Reason: "HTTP 201"}},
		{204, Verdict{Outcome: Delivered, Reason: "HTTP 204"}},
		{299, Verdict{Outcome: Delivered, Reason: "HTTP 299"}},
		{408, Verdict{Outcome: Retryable, Reason: "HTTP 408"}},
		{429, Verdict{Outcome: Retryable, Reason: "HTTP 429"}},
		{500, Verdict{Outcome: Retryable, Reason: "HTTP 500"}},
		{502, Verdict{Outcome: Retryable, Reason: "HTTP 502"}},
		{503, Verdict{Outcome: Retryable, Reason: "HTTP 503"}},
		{504, Verdict{Outcome: Retryable, Reason: "HTTP 504"}},
		{599, Verdict{Outcome: Retryable, Reason: "HTTP 599"}},
		{410, Verdict{Outcome: Gone, Reason: "HTTP 410: endpoint is gone"}},
		{301, Verdict{Outcome: Permanent, Reason: "HTTP 301: redirect not followed"}},
		{302, Verdict{Outcome: Permanent, Reason: "HTTP 302: redirect not followed"}},
		{304, Verdict{Outcome: Permanent, Reason: "HTTP 304: redirect not followed"}},
		{307, Verdict{Outcome: Permanent, Reason: "HTTP 307: redirect not followed"}},
		{100, Verdict{Outcome: Permanent, Reason: "HTTP 100 is not retried"}},
		{101, Verdict{Outcome: Permanent, Reason: "HTTP 101 is not retried"}},
		{400, Verdict{Outcome: Permanent, Reason: "HTTP 400 is not retried"}},
		{401, Verdict{Outcome: Permanent, Reason: "HTTP 401 is not retried"}},
		{403, Verdict{Outcome: Permanent, Reason: "HTTP 403 is not retried"}},
		{404, Verdict{Outcome: Permanent, Reason: "HTTP 404 is not retried"}},
		{409, Verdict{Outcome: Permanent, Reason: "HTTP 409 is not retried"}},
		{422, Verdict{Outcome: Permanent, Reason: "HTTP 422 is not retried"}},
		{0, Verdict{Outcome: Permanent, Reason: "invalid HTTP status 0"}},
		{99, Verdict{Outcome: Permanent, Reason: "invalid HTTP status 99"}},
		{600, Verdict{Outcome: Permanent, Reason: "invalid HTTP status 600"}},
		{-1, Verdict{Outcome: Permanent, Reason: "invalid HTTP status -1"}},
	}
	for _, tt := range tests {
		if got := Classify(tt.status, "", nil, now); got != tt.want {
			t.Errorf("Classify(%d) = %+v; want %+v", tt.status, got, tt.want)
		}
	}
}

func TestClassifyRetryAfter(t *testing.T) {
	tests := []struct {
		name       string
		status     int
		retryAfter string
		want       time.Duration
	}{
		{"seconds on 429", 429, "120", 120 * time.Second},
		{"seconds on 503", 503, "5", 5 * time.Second},
		{"seconds with spaces", 503, " 7 ", 7 * time.Second},
		{"zero seconds", 429, "0", 0},
		{"leading zeros", 429, "0030", 30 * time.Second},
		{"huge seconds saturate", 429, "99999999999999999999999", math.MaxInt64},
		{"largest representable seconds", 429, "9223372036", 9223372036 * time.Second},
		{"just too many seconds saturate", 429, "9223372037", math.MaxInt64},
		{"IMF-fixdate in the future", 503, "Mon, 10 Mar 2025 12:02:30 GMT", 150 * time.Second},
		{"RFC 850 date in the future", 503, "Monday, 10-Mar-25 12:01:00 GMT", time.Minute},
		{"asctime date in the future", 503, "Mon Mar 10 13:00:00 2025", time.Hour},
		{"date far in the future", 429, "Fri, 31 Dec 9999 23:59:59 GMT", math.MaxInt64},
		{"date in the past is ignored", 503, "Sun, 09 Mar 2025 12:00:00 GMT", 0},
		{"date equal to now is ignored", 503, "Mon, 10 Mar 2025 12:00:00 GMT", 0},
		{"negative seconds are ignored", 429, "-5", 0},
		{"fractional seconds are ignored", 429, "1.5", 0},
		{"plus sign is ignored", 429, "+5", 0},
		{"garbage is ignored", 503, "soon", 0},
		{"non-GMT date is ignored", 503, "Mon, 10 Mar 2025 12:02:30 PST", 0},
		{"empty", 503, "", 0},
		{"ignored on 500", 500, "120", 0},
		{"ignored on 408", 408, "120", 0},
		{"ignored on 200", 200, "120", 0},
		{"ignored on 404", 404, "120", 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			v := Classify(tt.status, tt.retryAfter, nil, now)
			if v.RetryAfter != tt.want {
				t.Errorf("Classify(%d, %q).RetryAfter = %v; want %v", tt.status, tt.retryAfter, v.RetryAfter, tt.want)
			}
		})
	}
}

// timeoutError is a net.Error that reports a timeout, like the errors the
// net package returns when a deadline passes.
type timeoutError struct{}

func (timeoutError) Error() string   { return "i/o timeout" }
func (timeoutError) Timeout() bool   { return true }
func (timeoutError) Temporary() bool { return true }

func TestClassifyTransportError(t *testing.T) {
	refused := &net.OpError{Op: "dial", Net: "tcp", Err: os.NewSyscallError("connect", syscall.ECONNREFUSED)}
	tests := []struct {
		name       string
		err        error
		wantReason string
	}{
		{"context deadline", context.DeadlineExceeded, "timeout"},
		{"wrapped context deadline", fmt.Errorf("send: %w", context.DeadlineExceeded), "timeout"},
		{"net.Error timeout", timeoutError{}, "timeout"},
		{"os deadline", os.ErrDeadlineExceeded, "timeout"},
		{"url.Error timeout", &url.Error{Op: "Post", URL: "https://t.example/?cid=secret", Err: timeoutError{}}, "timeout"},
		{"connection refused", refused, "connection error: dial tcp: connect: connection refused"},
		{"url.Error hides the URL", &url.Error{Op: "Post", URL: "https://t.example/?cid=secret", Err: refused},
			"connection error: dial tcp: connect: connection refused"},
		{"TLS", &tls.CertificateVerificationError{Err: errors.New("x509: certificate has expired")},
			"connection error: tls: failed to verify certificate: x509: certificate has expired"},
		{"context canceled", context.Canceled, "connection error: context canceled"},
		{"other", errors.New("EOF"), "connection error: EOF"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			// The status is ignored when there is a transport error.
			got := Classify(200, "120", tt.err, now)
			want := Verdict{Outcome: Retryable, Reason: tt.wantReason}
			if got != want {
				t.Errorf("Classify(err %v) = %+v; want %+v", tt.err, got, want)
			}
		})
	}
}

type refusedTarget struct{}

func (refusedTarget) Error() string   { return "refused to connect to 10.0.0.1: private address" }
func (refusedTarget) Permanent() bool { return true }

// A transport error that says retrying cannot help (the outbound guard's refused address) is permanent, even
// wrapped the way net/http returns it.
func TestClassifyPermanentTransportError(t *testing.T) {
	err := &url.Error{Op: "Get", URL: "http://t.example/?cid=secret", Err: &net.OpError{Op: "dial", Net: "tcp", Err: refusedTarget{}}}
	got := Classify(0, "", err, now)
	want := Verdict{Outcome: Permanent, Reason: "dial tcp: refused to connect to 10.0.0.1: private address"}
	if got != want {
		t.Errorf("Classify = %+v; want %+v", got, want)
	}
}

func FuzzClassify(f *testing.F) {
	f.Add(200, "")
	f.Add(429, "120")
	f.Add(503, "Mon, 10 Mar 2025 12:02:30 GMT")
	f.Add(503, "Monday, 10-Mar-25 12:01:00 GMT")
	f.Add(503, "Mon Mar 10 13:00:00 2025")
	f.Add(429, "99999999999999999999999")
	f.Add(302, "x")
	f.Add(-1, "-1")
	f.Fuzz(func(t *testing.T, status int, retryAfter string) {
		v := Classify(status, retryAfter, nil, now)
		if v.Outcome < Delivered || v.Outcome > Gone || v.Reason == "" {
			t.Fatalf("Classify(%d, %q) = %+v", status, retryAfter, v)
		}
		if v.RetryAfter < 0 || v.RetryAfter > 0 && status != 429 && status != 503 {
			t.Fatalf("Classify(%d, %q).RetryAfter = %v", status, retryAfter, v.RetryAfter)
		}
		// Every default schedule step is within [1s, MaxRetryAfter] too.
		p := DefaultPolicy()
		if d := p.NextDelay(3, v); d < time.Second || d > p.MaxRetryAfter {
			t.Fatalf("NextDelay(3, %+v) = %v", v, d)
		}
	})
}
