package chaos

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"sync"
	"sync/atomic"
	"time"
)

// operator sends the run's postbacks as a real operator's sender does: it retries on timeouts, connection
// errors and 5xx, with a growing pause, alternating between the API replicas, until the event is acknowledged
// (200 accepted, or 200 duplicate: an earlier copy was), a 4xx refuses it, or sendBudget passes.
type operator struct {
	http     *http.Client
	replicas []string
	apiKey   string
	affIDs   []string
	evs      []event

	requests, retries, accepted, duplicates atomic.Int64
	mu                                      sync.Mutex
	acked                                   map[int]bool
	// ackedRequests are the X-Request-Id of every request answered 200: the audit log must hold each.
	ackedRequests []string
	refused       []string
	lastSend      time.Time
}

// sendBudget bounds one copy's retries; it outlasts any restart in the run.
const sendBudget = 5 * time.Minute

func newOperator(replicas []string, apiKey string, affIDs []string, timeout time.Duration) *operator {
	tr := &http.Transport{MaxIdleConns: 500, MaxIdleConnsPerHost: 250, IdleConnTimeout: 30 * time.Second}
	return &operator{
		http: &http.Client{Transport: tr, Timeout: timeout}, replicas: replicas, apiKey: apiKey, affIDs: affIDs,
		acked: map[int]bool{},
	}
}

// run sends every event at rate per second, each in its own goroutine (at most concurrency at once), its
// copies concurrently, each copy starting at another replica; it returns when all have ended.
func (o *operator) run(ctx context.Context, evs []event, rate float64, concurrency int) {
	o.evs = evs
	sem := make(chan struct{}, concurrency)
	var wg sync.WaitGroup
	start := time.Now()
	for i := range evs {
		time.Sleep(time.Until(start.Add(time.Duration(float64(i) / rate * float64(time.Second)))))
		if ctx.Err() != nil {
			break
		}
		for c := range evs[i].Copies {
			sem <- struct{}{}
			wg.Go(func() {
				defer func() { <-sem }()
				o.sendCopy(ctx, i, evs[i], i+c)
			})
		}
	}
	wg.Wait()
}

func (o *operator) sendCopy(ctx context.Context, i int, e event, replica int) {
	q := url.Values{
		"event_id": {e.ID}, "event": {e.Type}, "affiliate_id": {o.affIDs[e.Affiliate]}, "player_id": {e.Player},
		"occurred_at": {e.OccurredAt.UTC().Format(time.RFC3339)},
	}
	if e.Type != "registration" {
		q.Set("amount", formatMinor(e.Amount))
		q.Set("currency", currency)
	}
	if e.Original >= 0 {
		q.Set("original_event_id", o.evs[e.Original].ID)
	}
	deadline := time.Now().Add(sendBudget)
	pause := 200 * time.Millisecond
	for n := 0; ; n++ {
		status, body, requestID, err := o.post(ctx, o.replicas[(replica+n)%len(o.replicas)], q)
		switch {
		case err == nil && status == http.StatusOK:
			var ans struct {
				Status string `json:"status"`
			}
			_ = json.Unmarshal(body, &ans)
			if ans.Status == "duplicate" {
				o.duplicates.Add(1)
			} else {
				o.accepted.Add(1)
			}
			o.mu.Lock()
			o.acked[i] = true
			o.ackedRequests = append(o.ackedRequests, requestID)
			o.mu.Unlock()
			return
		case err == nil && status < 500:
			o.mu.Lock()
			o.refused = append(o.refused, fmt.Sprintf("%s: %d %s", e.ID, status, body))
			o.mu.Unlock()
			return
		}
		if time.Now().After(deadline) || ctx.Err() != nil {
			o.mu.Lock()
			o.refused = append(o.refused, fmt.Sprintf("%s: gave up after %d tries: %v %d %s", e.ID, n+1, err, status, body))
			o.mu.Unlock()
			return
		}
		o.retries.Add(1)
		time.Sleep(pause)
		pause = min(2*pause, 3*time.Second)
	}
}

func (o *operator) post(ctx context.Context, base string, q url.Values) (int, []byte, string, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, base+"/v1/postbacks", nil)
	if err != nil {
		return 0, nil, "", err
	}
	req.URL.RawQuery = q.Encode()
	req.Header.Set("X-API-Key", o.apiKey)
	o.requests.Add(1)
	o.mu.Lock()
	o.lastSend = time.Now()
	o.mu.Unlock()
	resp, err := o.http.Do(req)
	if err != nil {
		return 0, nil, "", err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	return resp.StatusCode, body, resp.Header.Get("X-Request-Id"), err
}

func (o *operator) isAcked(i int) bool {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.acked[i]
}
