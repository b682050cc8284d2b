package chaos

import (
	"encoding/json"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"strconv"
	"sync"
	"sync/atomic"
	"time"
)

// receiver plays the affiliates' trackers (postbacks) or a webhook subscriber. It fails failPercent of calls
// — 500, 503, 429 (some with Retry-After) or hanging past affrelay's timeout — and accepts the rest, noting for
// each event every distinct delivery id (Idempotency-Key or webhook-id) it was called with and how often.
type receiver struct {
	name        string
	srv         *http.Server
	url         string
	failPercent int
	hang        time.Duration
	// eventOf reads the event id a call is about (the postback's query, the webhook's body).
	eventOf func(r *http.Request, body []byte) string
	idOf    func(r *http.Request) string

	calls, failures atomic.Int64
	mu              sync.Mutex
	ids             map[string]map[string]int // event id → delivery id → calls
	delivered       map[string]int            // delivery id → 2xx answers
	lastDelivery    time.Time
}

func startReceiver(name string, failPercent int, hang time.Duration, idOf func(*http.Request) string, eventOf func(*http.Request, []byte) string) (*receiver, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	rc := &receiver{
		name: name, url: "http://" + ln.Addr().String(), failPercent: failPercent, hang: hang,
		eventOf: eventOf, idOf: idOf, ids: map[string]map[string]int{}, delivered: map[string]int{},
	}
	rc.srv = &http.Server{Handler: http.HandlerFunc(rc.serve), ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = rc.srv.Serve(ln) }()
	return rc, nil
}

func (rc *receiver) serve(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(io.LimitReader(r.Body, 1<<20))
	rc.calls.Add(1)
	ev, id := rc.eventOf(r, body), rc.idOf(r)
	rc.mu.Lock()
	if rc.ids[ev] == nil {
		rc.ids[ev] = map[string]int{}
	}
	rc.ids[ev][id]++
	rc.mu.Unlock()

	if rand.IntN(100) < rc.failPercent {
		rc.failures.Add(1)
		switch rand.IntN(5) {
		case 0:
			w.WriteHeader(http.StatusInternalServerError)
		case 1:
			w.WriteHeader(http.StatusServiceUnavailable)
		case 2:
			w.Header().Set("Retry-After", strconv.Itoa(1+rand.IntN(2)))
			w.WriteHeader(http.StatusServiceUnavailable)
		case 3:
			if rand.IntN(2) == 0 {
				w.Header().Set("Retry-After", strconv.Itoa(1+rand.IntN(2)))
			}
			w.WriteHeader(http.StatusTooManyRequests)
		default:
			// Hang past affrelay's request timeout; the answer, if it were read, would be a success.
			select {
			case <-r.Context().Done():
			case <-time.After(rc.hang):
			}
			w.WriteHeader(http.StatusInternalServerError)
		}
		return
	}
	rc.mu.Lock()
	rc.delivered[id]++
	rc.lastDelivery = time.Now()
	rc.mu.Unlock()
	w.WriteHeader(http.StatusOK)
}

// deliveredOnce reports, for an event, its delivery ids and whether one of them was answered 2xx.
func (rc *receiver) seen(event string) (ids []string, delivered bool) {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	for id := range rc.ids[event] {
		ids = append(ids, id)
		if rc.delivered[id] > 0 {
			delivered = true
		}
	}
	return ids, delivered
}

// receiverFigures are a receiver's counts at the end.
type receiverFigures struct {
	Calls, FailuresInjected int64
	// RepeatedDeliveries counts 2xx answers beyond the first for one delivery id (a retry of a request whose
	// success affrelay did not record, e.g. its worker was killed): allowed, as the id is the same.
	RepeatedDeliveries int
	// RepeatedCalls counts calls beyond the first for one delivery id, failed or not.
	RepeatedCalls int
}

func (rc *receiver) figures() receiverFigures {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	f := receiverFigures{Calls: rc.calls.Load(), FailuresInjected: rc.failures.Load()}
	for _, n := range rc.delivered {
		f.RepeatedDeliveries += n - 1
	}
	for _, byID := range rc.ids {
		for _, n := range byID {
			f.RepeatedCalls += n - 1
		}
	}
	return f
}

func (rc *receiver) close() { _ = rc.srv.Close() }

// postbackReceiver is the affiliates' tracker: the endpoint's URL template puts the event id in the query.
func postbackReceiver(failPercent int, hang time.Duration) (*receiver, error) {
	return startReceiver("postbacks", failPercent, hang,
		func(r *http.Request) string { return r.Header.Get("Idempotency-Key") },
		func(r *http.Request, _ []byte) string { return r.URL.Query().Get("event_id") })
}

// webhookReceiver subscribes to conversion.recorded: the event id is in the envelope's data.
func webhookReceiver(failPercent int, hang time.Duration) (*receiver, error) {
	return startReceiver("webhooks", failPercent, hang,
		func(r *http.Request) string { return r.Header.Get("webhook-id") },
		func(_ *http.Request, body []byte) string {
			var env struct {
				Data struct {
					EventID string `json:"event_id"`
				} `json:"data"`
			}
			_ = json.Unmarshal(body, &env)
			return env.Data.EventID
		})
}
