// Package opscli is `affrelay ops`: an operator's commands over the admin API (queue, deliveries, refire,
// skip, conversion, endpoints). It reaches affrelay only through HTTP, never its database.
package opscli

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"
)

// client calls the admin API with the admin token.
type client struct {
	base  string
	token string
	http  *http.Client
}

// apiError is the API's error answer.
type apiError struct {
	Status int
	Code   string `json:"code"`
	Field  string `json:"field"`
	Msg    string `json:"message"`
}

func (e *apiError) Error() string {
	return fmt.Sprintf("%d %s: %s", e.Status, e.Code, e.Msg)
}

// call sends a request and decodes a 2xx answer into out (when not nil); any other answer is an *apiError.
func (c *client) call(ctx context.Context, method, path string, query url.Values, body, out any) error {
	raw, err := c.do(ctx, method, path, query, body, 64<<20)
	if err != nil || out == nil {
		return err
	}
	if err := json.Unmarshal(raw, out); err != nil {
		return fmt.Errorf("%s %s: the answer is not what this command expects: %w", method, path, err)
	}
	return nil
}

// do sends a request and returns a 2xx answer's body (up to limit bytes); any other answer is an *apiError.
func (c *client) do(ctx context.Context, method, path string, query url.Values, body any, limit int64) ([]byte, error) {
	u := c.base + path
	if len(query) > 0 {
		u += "?" + query.Encode()
	}
	var r io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return nil, err
		}
		r = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, u, r)
	if err != nil {
		return nil, err
	}
	req.Header.Set("Authorization", "Bearer "+c.token)
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return nil, fmt.Errorf("%s %s: %w", method, path, err)
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(io.LimitReader(resp.Body, limit))
	if err != nil {
		return nil, fmt.Errorf("%s %s: %w", method, path, err)
	}
	if resp.StatusCode/100 != 2 {
		var e struct {
			Error apiError `json:"error"`
		}
		if json.Unmarshal(raw, &e) != nil || e.Error.Code == "" {
			e.Error = apiError{Code: "http_error", Msg: strings.TrimSpace(string(raw))}
		}
		e.Error.Status = resp.StatusCode
		return nil, fmt.Errorf("%s %s: %w", method, path, &e.Error)
	}
	return raw, nil
}

// The admin API's shapes, as far as the commands show them.

type attempt struct {
	Number       int       `json:"number"`
	StartedAt    time.Time `json:"started_at"`
	DurationMS   int64     `json:"duration_ms"`
	StatusCode   int       `json:"status_code"`
	ResponseBody string    `json:"response_body"`
	Error        string    `json:"error"`
}

type delivery struct {
	ID           string     `json:"id"`
	Kind         string     `json:"kind"`
	EventType    string     `json:"event_type"`
	Status       string     `json:"status"`
	StatusReason string     `json:"status_reason"`
	EndpointID   string     `json:"endpoint_id"`
	AffiliateID  string     `json:"affiliate_id"`
	EventID      string     `json:"event_id"`
	Method       string     `json:"method"`
	URL          string     `json:"url"`
	Attempts     []attempt  `json:"attempts"`
	CreatedAt    time.Time  `json:"created_at"`
	DeliveredAt  *time.Time `json:"delivered_at"`
}

type queue struct {
	Total                   int64            `json:"total"`
	ByState                 map[string]int64 `json:"by_state"`
	OldestPendingAt         *time.Time       `json:"oldest_pending_at"`
	OldestPendingAgeSeconds int64            `json:"oldest_pending_age_seconds"`
	Targets                 int              `json:"targets"`
	ByTarget                []struct {
		Kind        string           `json:"kind"`
		TargetID    string           `json:"target_id"`
		AffiliateID string           `json:"affiliate_id"`
		Total       int64            `json:"total"`
		ByState     map[string]int64 `json:"by_state"`
	} `json:"by_target"`
	TopFailing []struct {
		Kind           string     `json:"kind"`
		TargetID       string     `json:"target_id"`
		Failing        int64      `json:"failing"`
		LastError      string     `json:"last_error"`
		LastStatusCode int        `json:"last_status_code"`
		LastAttemptAt  *time.Time `json:"last_attempt_at"`
	} `json:"top_failing"`
	Alarms []struct {
		Alarm     string    `json:"alarm"`
		Firing    bool      `json:"firing"`
		Depth     int64     `json:"depth"`
		ChangedAt time.Time `json:"changed_at"`
	} `json:"alarms"`
}

type ledgerEntry struct {
	ID       string    `json:"id"`
	Kind     string    `json:"kind"`
	Status   string    `json:"status"`
	Amount   string    `json:"amount"`
	Currency string    `json:"currency"`
	EventID  string    `json:"event_id"`
	PlayerID string    `json:"player_id"`
	EventAt  time.Time `json:"event_at"`
}

type webhookSubscription struct {
	ID                  string    `json:"id"`
	Kind                string    `json:"kind"`
	URL                 string    `json:"url"`
	Events              []string  `json:"events"`
	AffiliateID         string    `json:"affiliate_id"`
	Enabled             bool      `json:"enabled"`
	DisabledReason      string    `json:"disabled_reason"`
	ConsecutiveFailures int       `json:"consecutive_failures"`
	CreatedAt           time.Time `json:"created_at"`
}

// receivedRequest is a postback as its sender sent it, with the answer it got (credentials redacted).
type receivedRequest struct {
	Method           string    `json:"method"`
	Path             string    `json:"path"`
	Query            string    `json:"query"`
	Body             string    `json:"body"`
	BodyEncoding     string    `json:"body_encoding"`
	BodySize         int64     `json:"body_size"`
	ClientIP         string    `json:"client_ip"`
	ReceivedAt       time.Time `json:"received_at"`
	KeyID            string    `json:"key_id"`
	SignatureVerdict string    `json:"signature_verdict"`
	Response         struct {
		Status int    `json:"status"`
		Body   string `json:"body"`
	} `json:"response"`
}

// conversion is an event as recorded (GET /v1/admin/conversions/{integration}/{event_id}).
type conversion struct {
	ID          string    `json:"id"`
	Event       string    `json:"event"`
	AffiliateID string    `json:"affiliate_id"`
	PlayerID    string    `json:"player_id"`
	ClickID     string    `json:"click_id"`
	OccurredAt  time.Time `json:"occurred_at"`
	CreatedAt   time.Time `json:"created_at"`
	WorkflowID  string    `json:"workflow_id"`
	Amount      *struct {
		Amount   string `json:"amount"`
		Currency string `json:"currency"`
	} `json:"amount"`
	Deliveries []struct {
		ID string `json:"id"`
	} `json:"deliveries"`
}

type postbackEndpoint struct {
	ID                  string   `json:"id"`
	AffiliateID         string   `json:"affiliate_id"`
	URL                 string   `json:"url"`
	Events              []string `json:"events"`
	Enabled             bool     `json:"enabled"`
	DisabledReason      string   `json:"disabled_reason"`
	ConsecutiveFailures int      `json:"consecutive_failures"`
}
