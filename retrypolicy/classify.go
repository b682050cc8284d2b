package retrypolicy

import (
	"context"
	"errors"
	"math"
	"net"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// Outcome is the class of one delivery attempt's result.
type Outcome int

// The zero Outcome is deliberately invalid so an unset verdict is noticed.
const (
	Delivered Outcome = iota + 1 // the receiver accepted it; stop
	Retryable                    // try again later, per the Policy
	Permanent                    // the receiver rejected it; retrying will not help
	Gone                         // the receiver says the endpoint no longer exists (HTTP 410)
)

// String returns "delivered", "retryable", "permanent" or "gone".
func (o Outcome) String() string {
	switch o {
	case Delivered:
		return "delivered"
	case Retryable:
		return "retryable"
	case Permanent:
		return "permanent"
	case Gone:
		return "gone"
	default:
		return "Outcome(" + strconv.Itoa(int(o)) + ")"
	}
}

// Verdict is the classification of one delivery attempt.
type Verdict struct {
	Outcome    Outcome
	RetryAfter time.Duration // from a valid Retry-After header on 429/503, else 0
	Reason     string        // short human text, e.g. "HTTP 503", "HTTP 404 is not retried", "timeout"
}

// Classify turns one attempt's result into a verdict.
//
//   - transportErr != nil (timeout, connection refused, TLS, ...): Retryable,
//     with Reason "timeout" for a deadline or net.Error timeout and
//     "connection error: ..." otherwise; Permanent when the error has a
//     Permanent() method that says so (a refused target address). status
//     is ignored.
//   - 2xx: Delivered.
//   - 408, 429 and 5xx: Retryable.
//   - 410: Gone.
//   - 3xx: Permanent, because redirects are not followed.
//   - other 1xx and 4xx: Permanent.
//   - anything outside 100-599: Permanent.
//
// retryAfter is the raw Retry-After header value, read only for 429 and
// 503: either delta-seconds or an HTTP-date, which is taken relative to
// now. A missing, invalid, zero or past value leaves RetryAfter 0; a value
// too large for a time.Duration saturates (NextDelay clamps it anyway).
func Classify(status int, retryAfter string, transportErr error, now time.Time) Verdict {
	if transportErr != nil {
		if isTimeout(transportErr) {
			return Verdict{Outcome: Retryable, Reason: "timeout"}
		}
		// A *url.Error repeats the request URL, which may carry affiliate
		// data; the underlying error is what explains the failure.
		var urlErr *url.Error
		if errors.As(transportErr, &urlErr) && urlErr.Err != nil {
			transportErr = urlErr.Err
		}
		// An error that knows retrying cannot help, such as a target address the outbound guard refuses.
		var permanent interface{ Permanent() bool }
		if errors.As(transportErr, &permanent) && permanent.Permanent() {
			return Verdict{Outcome: Permanent, Reason: transportErr.Error()}
		}
		return Verdict{Outcome: Retryable, Reason: "connection error: " + transportErr.Error()}
	}

	code := "HTTP " + strconv.Itoa(status)
	switch {
	case status >= 200 && status <= 299:
		return Verdict{Outcome: Delivered, Reason: code}
	case status == 429 || status == 503:
		return Verdict{Outcome: Retryable, RetryAfter: parseRetryAfter(retryAfter, now), Reason: code}
	case status == 408 || status >= 500 && status <= 599:
		return Verdict{Outcome: Retryable, Reason: code}
	case status == 410:
		return Verdict{Outcome: Gone, Reason: code + ": endpoint is gone"}
	case status >= 300 && status <= 399:
		return Verdict{Outcome: Permanent, Reason: code + ": redirect not followed"}
	case status >= 100 && status <= 499:
		return Verdict{Outcome: Permanent, Reason: code + " is not retried"}
	default:
		return Verdict{Outcome: Permanent, Reason: "invalid HTTP status " + strconv.Itoa(status)}
	}
}

func isTimeout(err error) bool {
	if errors.Is(err, context.DeadlineExceeded) {
		return true
	}
	var netErr net.Error
	return errors.As(err, &netErr) && netErr.Timeout()
}

// httpDateLayouts are the three HTTP-date formats of RFC 9110 section
// 5.6.7: IMF-fixdate, then the obsolete RFC 850 and asctime forms.
var httpDateLayouts = [...]string{
	"Mon, 02 Jan 2006 15:04:05 GMT",
	"Monday, 02-Jan-06 15:04:05 GMT",
	"Mon Jan _2 15:04:05 2006",
}

// parseRetryAfter returns the wait a Retry-After value asks for, or 0 if
// the value is not valid or is not in the future.
func parseRetryAfter(value string, now time.Time) time.Duration {
	value = strings.TrimSpace(value)
	if value == "" {
		return 0
	}
	if isDigits(value) {
		const maxSeconds = math.MaxInt64 / int64(time.Second)
		seconds, err := strconv.ParseInt(value, 10, 64)
		if err != nil || seconds > maxSeconds { // all digits, so err means out of range
			return math.MaxInt64
		}
		return time.Duration(seconds) * time.Second
	}
	for _, layout := range httpDateLayouts {
		// HTTP-dates are always GMT; parsing in UTC keeps the result
		// independent of the machine's local time zone.
		if t, err := time.ParseInLocation(layout, value, time.UTC); err == nil {
			return max(t.Sub(now), 0)
		}
	}
	return 0
}

func isDigits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}
