package server

import (
	"fmt"
	"math"
	"net/http"
	"net/netip"
	"strconv"
	"sync"
	"time"

	"github.com/gin-gonic/gin"
	"golang.org/x/time/rate"
)

// maxIdleClients bounds the click limiter's memory: past it, buckets that have refilled (and so are the same as
// new ones) are dropped.
const maxIdleClients = 10000

// clientLimiters holds one token bucket per client: an IPv4 address, or an IPv6 /64, which one subscriber
// usually holds whole. The tracker is public and writes a row per visit, so a client that floods it is
// answered 429 before anything is written.
type clientLimiters struct {
	rps   rate.Limit
	burst int
	mu    sync.Mutex
	by    map[netip.Prefix]*rate.Limiter
}

func newClientLimiters(rps float64, burst int) *clientLimiters {
	return &clientLimiters{rps: rate.Limit(rps), burst: burst, by: map[netip.Prefix]*rate.Limiter{}}
}

// allow takes a token from the client's bucket; it returns how long to wait when none is left.
func (l *clientLimiters) allow(ip netip.Addr, now time.Time) (time.Duration, bool) {
	bits := 32
	if ip.Is6() && !ip.Is4In6() {
		bits = 64
	}
	client, _ := ip.Unmap().Prefix(min(bits, ip.Unmap().BitLen()))
	l.mu.Lock()
	defer l.mu.Unlock()
	lim, ok := l.by[client]
	if !ok {
		if len(l.by) >= maxIdleClients {
			for k, old := range l.by {
				if old.TokensAt(now) >= float64(l.burst) {
					delete(l.by, k)
				}
			}
		}
		lim = rate.NewLimiter(l.rps, l.burst)
		l.by[client] = lim
	}
	return take(lim, now)
}

// take reserves one token, or returns how long until one is free.
func take(lim *rate.Limiter, now time.Time) (time.Duration, bool) {
	res := lim.ReserveN(now, 1)
	if delay := res.DelayFrom(now); delay > 0 {
		res.CancelAt(now)
		return delay, false
	}
	return 0, true
}

// tooManyRequests answers 429 with Retry-After in whole seconds; whose says whose budget ran out.
func tooManyRequests(c *gin.Context, wait time.Duration, whose string) {
	secs := min(int(math.Ceil(wait.Seconds())), retryAfterMaxSeconds)
	c.Header("Retry-After", strconv.Itoa(secs))
	abort(c, http.StatusTooManyRequests, "rate_limited", fmt.Sprintf("too many requests for %s; retry after %d s", whose, secs))
}

// limitClicks applies the client's token bucket to the click tracker.
func (h *handlers) limitClicks(c *gin.Context) {
	ip, err := netip.ParseAddr(c.GetString(ctxClientIP))
	if err != nil {
		abort(c, http.StatusBadRequest, "invalid_request", "the client address is unknown")
		return
	}
	if wait, ok := h.clicks.allow(ip, h.o.Now()); !ok {
		tooManyRequests(c, wait, "this client address")
		return
	}
	c.Next()
}
