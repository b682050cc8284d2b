package chaos

import (
	"context"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"go.temporal.io/api/workflowservice/v1"
	"go.temporal.io/sdk/client"

	"github.com/affrelay/affrelay/internal/stack"
	"github.com/affrelay/affrelay/service/audit"
	"github.com/affrelay/affrelay/store"
)

// converge waits until every acknowledged event reached both receivers, no delivery is left undelivered in
// the database and no workflow runs in Temporal; it returns when that was first seen.
func (r *run) converge(ctx context.Context) (time.Time, error) {
	deadline := time.Now().Add(r.o.ConvergeTimeout)
	var undelivered, notDone int
	var running int64
	var lastErr error
	lastLog := time.Now()
	for {
		undelivered, notDone, running, lastErr = r.outstanding(ctx)
		if lastErr == nil && undelivered == 0 && notDone == 0 && running == 0 {
			r.log("converged: every acknowledged event delivered to both receivers, nothing pending, nothing running")
			return time.Now(), nil
		}
		if time.Since(lastLog) >= 15*time.Second {
			r.log("still outstanding: %d (event, target) not delivered, %d deliveries not delivered in the database, %d workflows running %v",
				undelivered, notDone, running, lastErr)
			lastLog = time.Now()
		}
		if time.Now().After(deadline) || ctx.Err() != nil {
			return time.Time{}, fmt.Errorf("not converged after %s: %d (event, target) not delivered to the receivers, %d deliveries not delivered in the database, %d workflows running (%v)",
				r.o.ConvergeTimeout, undelivered, notDone, running, lastErr)
		}
		time.Sleep(time.Second)
	}
}

// outstanding counts what is not finished yet: (event, target) pairs the receivers have not accepted, deliveries
// not delivered in the database, workflows running in Temporal.
func (r *run) outstanding(ctx context.Context) (undelivered, notDone int, running int64, err error) {
	for i, e := range r.evs {
		if !r.op.isAcked(i) {
			continue
		}
		for _, rc := range []*receiver{r.postbacks, r.hooks} {
			if _, ok := rc.seen(e.ID); !ok {
				undelivered++
			}
		}
	}
	s, err := store.Open(r.driver, r.dsn)
	if err != nil {
		return undelivered, 0, 0, err
	}
	defer s.Close()
	n, err := s.Deliveries(ctx).Count(store.DeliveryDelivered)
	if err != nil {
		return undelivered, 0, 0, err
	}
	running, err = r.runningWorkflows(ctx)
	return undelivered, int(n), running, err
}

func (r *run) runningWorkflows(ctx context.Context) (int64, error) {
	c, err := stack.Dial(r.addr)
	if err != nil {
		return 0, err
	}
	defer c.Close()
	res, err := c.CountWorkflow(ctx, &workflowservice.CountWorkflowExecutionsRequest{Namespace: client.DefaultNamespace, Query: "ExecutionStatus = 'Running'"})
	if err != nil {
		return 0, err
	}
	return res.GetCount(), nil
}

// check compares what the run sent with what affrelay recorded, paid and delivered, fills the report's
// figures and lists every difference in its Problems.
func (r *run) check(ctx context.Context, rep *Report) error {
	problem := func(format string, args ...any) { rep.Problems = append(rep.Problems, fmt.Sprintf(format, args...)) }
	op := r.op
	rep.EventsSent = len(r.evs)
	for _, e := range r.evs {
		rep.CopiesSent += e.Copies
		if e.Copies > 1 {
			rep.EventsSentMoreThanOnce++
		}
	}
	rep.Requests, rep.SenderRetries = op.requests.Load(), op.retries.Load()
	rep.Accepted, rep.DuplicatesRefused = op.accepted.Load(), op.duplicates.Load()
	acked := map[string]bool{}
	for i, e := range r.evs {
		if op.isAcked(i) {
			acked[e.ID] = true
		}
	}
	rep.Acknowledged = len(acked)
	if n := len(op.refused); n > 0 {
		problem("%d copies were refused or never acknowledged, e.g. %s", n, strings.Join(op.refused[:min(n, 3)], "; "))
	}

	s, err := store.Open(r.driver, r.dsn)
	if err != nil {
		return err
	}
	defer s.Close()
	deliveries := s.Deliveries(ctx)

	// Every acknowledged event recorded exactly once.
	recorded, err := s.Conversions(ctx).EventIDs()
	if err != nil {
		return err
	}
	rep.Conversions = len(recorded)
	seen := map[string]int{}
	for _, id := range recorded {
		seen[id]++
	}
	var missing, twice, unacked []string
	for id := range acked {
		if seen[id] == 0 {
			missing = append(missing, id)
		}
	}
	for id, n := range seen {
		if n > 1 {
			twice = append(twice, id)
		}
		if !acked[id] {
			unacked = append(unacked, id)
		}
	}
	if len(missing)+len(twice) > 0 || rep.Conversions != rep.Acknowledged {
		problem("conversions: %d rows for %d acknowledged events; missing %d %v, recorded twice %d %v", rep.Conversions, rep.Acknowledged,
			len(missing), firstFew(missing), len(twice), firstFew(twice))
	}
	if len(unacked) > 0 {
		problem("%d conversions of events never acknowledged: %v", len(unacked), firstFew(unacked))
	}

	// Every affiliate's ledger, as the admin API shows it, equals the harness's own computation.
	want := expectedLedger(r.evs, r.kindOf, op.isAcked)
	admin := stack.Admin{Base: r.replicas[0].base, Token: adminToken}
	for i, id := range r.affIDs {
		var bal struct {
			Balances []struct {
				Currency, Amount string
			} `json:"balances"`
		}
		if err := admin.Decode("GET", "/v1/admin/affiliates/"+id+"/balance", nil, &bal); err != nil {
			return err
		}
		var got int64
		for _, b := range bal.Balances {
			v, err := parseMinor(b.Amount)
			if err != nil || b.Currency != currency {
				problem("affiliate %s: balance %s %s", id, b.Amount, b.Currency)
				continue
			}
			got += v
		}
		rep.LedgerTotal += got
		rep.ExpectedLedgerTotal += want[i]
		if got != want[i] {
			problem("affiliate %s (%s): ledger %s, expected %s", id, r.kindOf(i), formatMinor(got), formatMinor(want[i]))
		}
	}

	// Every (event, target) delivered under exactly one id.
	for _, rc := range []*receiver{r.postbacks, r.hooks} {
		var undelivered, manyIDs []string
		for id := range acked {
			ids, ok := rc.seen(id)
			if !ok {
				undelivered = append(undelivered, id)
			}
			if len(ids) > 1 {
				manyIDs = append(manyIDs, fmt.Sprintf("%s %v", id, ids))
			}
		}
		rc.mu.Lock()
		var strangers []string
		for ev := range rc.ids {
			if !acked[ev] {
				strangers = append(strangers, ev)
			}
		}
		rc.mu.Unlock()
		if len(undelivered)+len(manyIDs)+len(strangers) > 0 {
			problem("%s: %d acknowledged events not delivered %v; %d delivered under more than one id %v; %d calls for events never acknowledged %v",
				rc.name, len(undelivered), firstFew(undelivered), len(manyIDs), firstFew(manyIDs), len(strangers), firstFew(strangers))
		}
		f := rc.figures()
		rep.Receivers = append(rep.Receivers, receiverReport{Name: rc.name, receiverFigures: f})
	}

	// Nothing left pending or running.
	notDone, err := deliveries.Count(store.DeliveryDelivered)
	if err != nil {
		return err
	}
	if rep.Deliveries, err = deliveries.Count(""); err != nil {
		return err
	}
	if rep.Attempts, err = deliveries.CountAttempts(); err != nil {
		return err
	}
	if notDone > 0 {
		problem("%d deliveries not delivered in the database", notDone)
	}
	if want := int64(2 * rep.Acknowledged); rep.Deliveries != want {
		problem("%d deliveries in the database, expected %d (a postback and a webhook per event)", rep.Deliveries, want)
	}
	running, err := r.runningWorkflows(ctx)
	if err != nil {
		return err
	}
	if running > 0 {
		problem("%d workflows still running in Temporal", running)
	}

	// The audit log holds every acknowledged postback request.
	audited, err := s.Audit(ctx).RequestIDs(200)
	if err != nil {
		return err
	}
	inAudit := map[string]bool{}
	for _, id := range audited {
		inAudit[id] = true
	}
	var unaudited []string
	op.mu.Lock()
	for _, id := range op.ackedRequests {
		if !inAudit[id] {
			unaudited = append(unaudited, id)
		}
	}
	rep.AckedRequests = len(op.ackedRequests)
	op.mu.Unlock()
	if len(unaudited) > 0 {
		problem("audit log: %d of %d acknowledged postback requests missing, e.g. %v", len(unaudited), rep.AckedRequests, firstFew(unaudited))
	}
	// The replicas' rows, written concurrently and through kills, make one unbroken hash chain.
	chain, err := (&audit.Service{Store: s}).Verify(ctx, audit.VerifyRequest{})
	if err != nil {
		return err
	}
	if !chain.OK {
		problem("audit chain: row %d (position %d) does not fit: %s", chain.Break.ID, chain.Break.Seq, chain.Break.Reason)
	}
	return nil
}

func firstFew(s []string) []string {
	slices.Sort(s)
	return s[:min(len(s), 5)]
}

// parseMinor reads a two-place decimal string ("-12.05") as minor units.
func parseMinor(s string) (int64, error) {
	neg := strings.HasPrefix(s, "-")
	whole, frac, ok := strings.Cut(strings.TrimPrefix(s, "-"), ".")
	if !ok || len(frac) != 2 {
		return 0, fmt.Errorf("amount %q", s)
	}
	v, err := strconv.ParseInt(whole+frac, 10, 64)
	if neg {
		v = -v
	}
	return v, err
}
