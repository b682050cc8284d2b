package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"slices"
	"sync"
	"time"
)

// receiver is the affiliates' tracker: it notes when each event's outbound postback arrived.
type receiver struct {
	srv        *http.Server
	url        string
	mu         sync.Mutex
	arrived    map[string]time.Time
	duplicates int
	notify     chan struct{}
}

func startReceiver() (*receiver, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	r := &receiver{url: "http://" + ln.Addr().String(), arrived: map[string]time.Time{}, notify: make(chan struct{}, 1)}
	r.srv = &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		now := time.Now()
		// affrelay's postbacks and the open-loop floor's GETs carry tx; the closed-loop baselines' GETs do not.
		if tx := req.URL.Query().Get("tx"); tx != "" {
			r.mu.Lock()
			if _, seen := r.arrived[tx]; seen {
				r.duplicates++
			} else {
				r.arrived[tx] = now
			}
			r.mu.Unlock()
		}
		select {
		case r.notify <- struct{}{}:
		default:
		}
		w.WriteHeader(http.StatusOK)
	})}
	go func() { _ = r.srv.Serve(ln) }()
	return r, nil
}

func (r *receiver) arrival(tx string) (time.Time, bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	t, ok := r.arrived[tx]
	return t, ok
}

// await waits until every event has arrived or the timeout passes; it returns how many arrived.
func (r *receiver) await(events []string, timeout time.Duration) int {
	deadline := time.Now().Add(timeout)
	for {
		n := 0
		for _, e := range events {
			if _, ok := r.arrival(e); ok {
				n++
			}
		}
		if n == len(events) || time.Now().After(deadline) {
			return n
		}
		select {
		case <-r.notify:
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// sender posts postbacks to affrelay and notes when each was sent and acknowledged.
type sender struct {
	http   *http.Client
	base   string
	tenant tenant
	prefix string
}

// sent is one postback: when it left, how long the ack took, and whether it was accepted.
type sent struct {
	event    string
	at       time.Time
	ack      time.Duration
	accepted bool
	err      string
}

func newSender(base string, t tenant, prefix string) *sender {
	tr := &http.Transport{MaxIdleConns: 2000, MaxIdleConnsPerHost: 2000, IdleConnTimeout: time.Minute}
	return &sender{http: &http.Client{Transport: tr, Timeout: 30 * time.Second}, base: base, tenant: t, prefix: prefix}
}

func (s *sender) send(i int) sent {
	ev := fmt.Sprintf("%s-%d", s.prefix, i)
	q := url.Values{
		"event_id": {ev}, "event": {"ftd"}, "affiliate_id": {s.tenant.affiliateID}, "player_id": {"p-" + ev},
		"click_id": {"c-" + ev}, "amount": {"50.00"}, "currency": {"USD"},
	}
	req, _ := http.NewRequestWithContext(context.Background(), "GET", s.base+"/v1/postbacks?"+q.Encode(), nil)
	req.Header.Set("X-API-Key", s.tenant.apiKey)
	out := sent{event: ev, at: time.Now()}
	resp, err := s.http.Do(req)
	out.ack = time.Since(out.at)
	if err != nil {
		out.err = err.Error()
		return out
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	out.accepted = resp.StatusCode == http.StatusOK && bytes.Contains(body, []byte(`"status":"accepted"`))
	if !out.accepted {
		out.err = fmt.Sprintf("%d %s", resp.StatusCode, body)
	}
	return out
}

// openLoop sends n postbacks at a fixed rate, each on schedule whatever the earlier ones are doing.
func (s *sender) openLoop(rate float64, n int) []sent {
	out := make([]sent, n)
	var wg sync.WaitGroup
	start := time.Now()
	for i := range n {
		time.Sleep(time.Until(start.Add(time.Duration(float64(i) / rate * float64(time.Second)))))
		wg.Go(func() { out[i] = s.send(i) })
	}
	wg.Wait()
	return out
}

// closedLoop sends n postbacks from c senders, each sending its next as soon as the last is acknowledged.
func (s *sender) closedLoop(c, n int) []sent {
	out := make([]sent, n)
	jobs := make(chan int)
	var wg sync.WaitGroup
	for range c {
		wg.Go(func() {
			for i := range jobs {
				out[i] = s.send(i)
			}
		})
	}
	for i := range n {
		jobs <- i
	}
	close(jobs)
	wg.Wait()
	return out
}

// percentile returns the p-th percentile (0..100) of the durations, in ms.
func percentile(ds []time.Duration, p float64) float64 {
	if len(ds) == 0 {
		return 0
	}
	s := slices.Clone(ds)
	slices.Sort(s)
	i := int(float64(len(s)-1) * p / 100)
	return ms(s[i])
}
