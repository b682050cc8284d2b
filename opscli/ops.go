package opscli

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"slices"
	"sort"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/pflag"
)

// Usage is the help of `affrelay ops`.
const Usage = `affrelay ops — operate a running affrelay through its admin API

Usage: affrelay ops <command> [flags]

Commands:
  queue                         undelivered deliveries by state and target, top failing targets, alarms
  deliveries                    deliveries with their last attempt (--status, --affiliate, --event, --from, --to,
                                --limit, --after for the next page)
  refire <delivery_id>...       send deliveries again with --reason; or a bulk job by filter
                                (--status, --affiliate, --endpoint, --event-type, --from, --to, --event, --all)
  skip <delivery_id>...         give up on deliveries in needs_review
  conversion <event_id>         the postback as received, its ledger entries, its deliveries with every
                                attempt and its workflow in the Temporal UI (--integration)
  endpoints                     webhook subscriptions and postback endpoints: state, failures, undelivered (--affiliate)
  rotate-key                    re-seal every secret kept at rest under the servers' secrets.current_key
                                (after every API process runs with the new key; docs/security.md)
  audit-verify                  recompute the audit log's hash chain (--from, --to: RFC 3339 or dates; --checkpoint
                                seq:hash, a copy an audit.checkpoint event sent) and name the first row that
                                does not fit; exits 1 when one does not
  evidence <integration> <event_id> -o bundle.zip
                                the event's signed evidence bundle for a dispute (docs/operations.md)
  evidence-verify bundle.zip --public-key key.pem
                                check a bundle's signature and every file's SHA-256 (needs no token)

Flags of every command:
  --url URL        the API (default $AFFRELAY_URL, else http://127.0.0.1:8080)
  --json           print the API's answers as JSON instead of tables
The admin token is read from AFFRELAY_ADMIN_TOKEN (the first, when it lists several).
`

// Env is what the commands read from the environment.
type Env struct {
	Getenv func(string) string
	Out    io.Writer // results
	Err    io.Writer // progress
	// HTTP is the client to the API; nil is http.DefaultClient.
	HTTP *http.Client
	// PollInterval is how often a bulk job's progress is read; 0 is a second.
	PollInterval time.Duration
}

// ErrUsage is returned for a command line that does not parse; the caller exits 2.
var ErrUsage = errors.New("usage")

// Run runs one ops command; args are the words after "ops".
func Run(ctx context.Context, args []string, env Env) error {
	if len(args) == 0 || args[0] == "-h" || args[0] == "--help" || args[0] == "help" {
		fmt.Fprint(env.Err, Usage)
		return ErrUsage
	}
	cmd, ok := commands[args[0]]
	if !ok {
		fmt.Fprintf(env.Err, "affrelay ops: unknown command %q\n\n%s", args[0], Usage)
		return ErrUsage
	}
	fs := pflag.NewFlagSet("affrelay ops "+args[0], pflag.ContinueOnError)
	fs.SetOutput(env.Err)
	base := fs.String("url", firstNonEmpty(env.Getenv("AFFRELAY_URL"), "http://127.0.0.1:8080"), "the affrelay API")
	asJSON := fs.Bool("json", false, "print JSON instead of tables")
	run := cmd(fs)
	if err := fs.Parse(args[1:]); err != nil {
		return ErrUsage
	}
	token, _, _ := strings.Cut(env.Getenv("AFFRELAY_ADMIN_TOKEN"), ",")
	if token = strings.TrimSpace(token); token == "" && !offline[args[0]] {
		return errors.New("AFFRELAY_ADMIN_TOKEN is not set: the admin API needs the admin token")
	}
	if env.HTTP == nil {
		env.HTTP = http.DefaultClient
	}
	if env.PollInterval == 0 {
		env.PollInterval = time.Second
	}
	o := &op{ctx: ctx, c: &client{base: strings.TrimRight(*base, "/"), token: token, http: env.HTTP}, env: env, json: *asJSON}
	return run(o, fs.Args())
}

// op is one running command.
type op struct {
	ctx  context.Context
	c    *client
	env  Env
	json bool
}

// command declares its flags on fs and returns what runs once they are parsed.
type command func(fs *pflag.FlagSet) func(o *op, args []string) error

var commands = map[string]command{
	"queue":        queueCommand,
	"deliveries":   deliveriesCommand,
	"refire":       refireCommand,
	"skip":         skipCommand,
	"conversion":   conversionCommand,
	"endpoints":    endpointsCommand,
	"rotate-key":   rotateKeyCommand,
	"audit-verify": auditVerifyCommand,
	"evidence":     evidenceCommand,
	// evidence-verify is offline: an affiliate runs it with the operator's public key.
	"evidence-verify": evidenceVerifyCommand,
}

// offline commands do not call the API, so need no admin token.
var offline = map[string]bool{"evidence-verify": true}

// get fetches a route; with --json the answer is printed as it came and show is not called.
func (o *op) get(path string, query url.Values, into any, show func() error) error {
	var raw json.RawMessage
	if err := o.c.call(o.ctx, http.MethodGet, path, query, nil, &raw); err != nil {
		return err
	}
	if o.json {
		return o.printJSON(raw)
	}
	if err := json.Unmarshal(raw, into); err != nil {
		return fmt.Errorf("GET %s: %w", path, err)
	}
	return show()
}

func (o *op) printJSON(v any) error {
	enc := json.NewEncoder(o.env.Out)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

// table writes aligned columns; cells are cut to fit a terminal line.
func (o *op) table(header []string, rows [][]string) error {
	w := tabwriter.NewWriter(o.env.Out, 0, 0, 2, ' ', 0)
	fmt.Fprintln(w, strings.Join(header, "\t"))
	for _, r := range rows {
		for i := range r {
			r[i] = cut(r[i], maxCell)
		}
		fmt.Fprintln(w, strings.Join(r, "\t"))
	}
	return w.Flush()
}

// maxCell keeps a row within a terminal's width: URLs, errors and reasons are the long cells.
const maxCell = 48

func cut(s string, n int) string {
	s = strings.Join(strings.Fields(s), " ")
	if r := []rune(s); len(r) > n {
		return string(r[:n-1]) + "…"
	}
	return s
}

func firstNonEmpty(s ...string) string {
	for _, v := range s {
		if v != "" {
			return v
		}
	}
	return ""
}

func ago(t time.Time) string {
	if t.IsZero() {
		return "-"
	}
	return time.Since(t).Truncate(time.Second).String() + " ago"
}

func queueCommand(fs *pflag.FlagSet) func(*op, []string) error {
	limit := fs.Int("limit", 20, "targets to list, largest first (1 to 1000)")
	return func(o *op, _ []string) error {
		var q queue
		return o.get("/v1/admin/queue", url.Values{"limit": {strconv.Itoa(*limit)}}, &q, func() error {
			states := make([]string, 0, len(q.ByState))
			for s := range q.ByState {
				states = append(states, s)
			}
			sort.Strings(states)
			var parts []string
			for _, s := range states {
				parts = append(parts, fmt.Sprintf("%s %d", s, q.ByState[s]))
			}
			fmt.Fprintf(o.env.Out, "undelivered: %d (%s)\n", q.Total, strings.Join(parts, ", "))
			if q.OldestPendingAt != nil {
				fmt.Fprintf(o.env.Out, "oldest pending: %s (%ds)\n", q.OldestPendingAt.Format(time.RFC3339), q.OldestPendingAgeSeconds)
			}
			for _, a := range q.Alarms {
				state := "ok"
				if a.Firing {
					state = "FIRING"
				}
				fmt.Fprintf(o.env.Out, "alarm %s: %s at depth %d since %s\n", a.Alarm, state, a.Depth, a.ChangedAt.Format(time.RFC3339))
			}
			if len(q.ByTarget) > 0 {
				fmt.Fprintf(o.env.Out, "\ntargets (%d of %d):\n", len(q.ByTarget), q.Targets)
				rows := make([][]string, len(q.ByTarget))
				for i, t := range q.ByTarget {
					rows[i] = []string{t.Kind, t.TargetID, t.AffiliateID, strconv.FormatInt(t.Total, 10), stateCounts(t.ByState)}
				}
				if err := o.table([]string{"KIND", "TARGET", "AFFILIATE", "TOTAL", "BY STATE"}, rows); err != nil {
					return err
				}
			}
			if len(q.TopFailing) > 0 {
				fmt.Fprintln(o.env.Out, "\nfailing most:")
				rows := make([][]string, len(q.TopFailing))
				for i, t := range q.TopFailing {
					last := "-"
					if t.LastAttemptAt != nil {
						last = ago(*t.LastAttemptAt)
					}
					rows[i] = []string{t.Kind, t.TargetID, strconv.FormatInt(t.Failing, 10), strconv.Itoa(t.LastStatusCode), last, t.LastError}
				}
				return o.table([]string{"KIND", "TARGET", "FAILING", "LAST CODE", "LAST ATTEMPT", "LAST ERROR"}, rows)
			}
			return nil
		})
	}
}

func stateCounts(m map[string]int64) string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	parts := make([]string, len(keys))
	for i, k := range keys {
		parts[i] = fmt.Sprintf("%s=%d", k, m[k])
	}
	return strings.Join(parts, " ")
}

func deliveriesCommand(fs *pflag.FlagSet) func(*op, []string) error {
	status := fs.String("status", "", "pending, delivered, needs_review, skipped or held")
	affiliate := fs.String("affiliate", "", "affiliate id")
	event := fs.String("event", "", "event id")
	limit := fs.Int("limit", 50, "deliveries to list, newest first (1 to 1000)")
	after := fs.String("after", "", "go on after this delivery (the next page, as the previous one said)")
	from := fs.String("from", "", "planned at or after (RFC 3339)")
	to := fs.String("to", "", "planned before (RFC 3339)")
	return func(o *op, _ []string) error {
		q := url.Values{"limit": {strconv.Itoa(*limit)}}
		for k, v := range map[string]string{"status": *status, "affiliate_id": *affiliate, "event_id": *event, "after": *after, "from": *from, "to": *to} {
			if v != "" {
				q.Set(k, v)
			}
		}
		var page struct {
			Deliveries []delivery `json:"deliveries"`
			NextAfter  string     `json:"next_after"`
		}
		return o.get("/v1/admin/deliveries", q, &page, func() error {
			if err := o.deliveryTable(page.Deliveries); err != nil {
				return err
			}
			if page.NextAfter != "" {
				fmt.Fprintf(o.env.Err, "more: add --after %s\n", page.NextAfter)
			}
			return nil
		})
	}
}

func (o *op) deliveryTable(ds []delivery) error {
	rows := make([][]string, len(ds))
	for i, d := range ds {
		code, last := "-", "-"
		if n := len(d.Attempts); n > 0 {
			a := d.Attempts[n-1]
			code, last = strconv.Itoa(a.StatusCode), ago(a.StartedAt)
		}
		what := d.EventType
		if what == "" {
			what = d.Kind
		}
		rows[i] = []string{d.ID, what, d.Status, strconv.Itoa(len(d.Attempts)), code, last, d.EventID, d.StatusReason}
	}
	return o.table([]string{"DELIVERY", "KIND", "STATUS", "TRIES", "CODE", "LAST TRY", "EVENT", "REASON"}, rows)
}

// each applies a decision to every delivery id, one request at a time, reporting progress as it goes; it
// goes on past a failure and reports every one at the end.
func (o *op) each(verb string, ids []string, body any) error {
	if len(ids) == 0 {
		return fmt.Errorf("name at least one delivery id: affrelay ops %s dlv_… [dlv_…]", verb)
	}
	var failed []string
	var answers []json.RawMessage
	for i, id := range ids {
		var raw json.RawMessage
		err := o.c.call(o.ctx, http.MethodPost, "/v1/admin/deliveries/"+url.PathEscape(id)+"/"+verb, nil, body, &raw)
		if err != nil {
			failed = append(failed, err.Error())
		} else {
			answers = append(answers, raw)
		}
		if len(ids) > 1 {
			fmt.Fprintf(o.env.Err, "\r%s: %d/%d done, %d failed", verb, i+1, len(ids), len(failed))
		}
	}
	if len(ids) > 1 {
		fmt.Fprintln(o.env.Err)
	}
	if o.json {
		if err := o.printJSON(answers); err != nil {
			return err
		}
	} else {
		for _, raw := range answers {
			var a struct {
				DeliveryID     string `json:"delivery_id"`
				PreviousStatus string `json:"previous_status"`
			}
			_ = json.Unmarshal(raw, &a)
			if a.PreviousStatus != "" {
				fmt.Fprintf(o.env.Out, "%s: %s (was %s)\n", a.DeliveryID, verb, a.PreviousStatus)
			} else {
				fmt.Fprintf(o.env.Out, "%s: %s\n", a.DeliveryID, verb)
			}
		}
	}
	if len(failed) > 0 {
		return fmt.Errorf("%d of %d failed:\n  %s", len(failed), len(ids), strings.Join(failed, "\n  "))
	}
	return nil
}

func skipCommand(*pflag.FlagSet) func(*op, []string) error {
	return func(o *op, ids []string) error { return o.each("skip", ids, nil) }
}

func refireCommand(fs *pflag.FlagSet) func(*op, []string) error {
	reason := fs.String("reason", "", "why (required; stored with each re-fire)")
	var f struct {
		status, affiliate, endpoint, eventType, from, to string
		events                                           []string
		all                                              bool
		rate                                             int
	}
	fs.StringVar(&f.status, "status", "", "bulk: deliveries in this state (delivered, skipped, held, needs_review)")
	fs.StringVar(&f.affiliate, "affiliate", "", "bulk: of this affiliate")
	fs.StringVar(&f.endpoint, "endpoint", "", "bulk: to this postback endpoint or webhook subscription")
	fs.StringVar(&f.eventType, "event-type", "", "bulk: of this event type")
	fs.StringVar(&f.from, "from", "", "bulk: created at or after (RFC 3339)")
	fs.StringVar(&f.to, "to", "", "bulk: created before (RFC 3339)")
	fs.StringSliceVar(&f.events, "event", nil, "bulk: of these event ids (repeat or comma-separate)")
	fs.BoolVar(&f.all, "all", false, "bulk: every delivery the other filters match, even with no status, time or event filter")
	fs.IntVar(&f.rate, "rate", 0, "bulk: re-fires per second (0: the server's default)")
	return func(o *op, ids []string) error {
		if *reason == "" {
			return errors.New("--reason is required: it is stored with every re-fire")
		}
		bulk := fs.Changed("status") || fs.Changed("affiliate") || fs.Changed("endpoint") || fs.Changed("event-type") ||
			fs.Changed("from") || fs.Changed("to") || fs.Changed("event") || f.all
		if bulk && len(ids) > 0 {
			return errors.New("give delivery ids or filters, not both")
		}
		if !bulk {
			return o.each("refire", ids, map[string]string{"reason": *reason})
		}
		body := map[string]any{"reason": *reason, "status": f.status, "affiliate_id": f.affiliate, "endpoint_id": f.endpoint,
			"event_type": f.eventType, "from": f.from, "to": f.to, "event_ids": f.events, "all": f.all, "rate_per_second": f.rate}
		return o.refireJob(body)
	}
}

// refireJob starts a bulk re-fire job and follows it to its end, showing its progress.
func (o *op) refireJob(body map[string]any) error {
	var started struct {
		Count int     `json:"count"`
		JobID *string `json:"job_id"`
	}
	if err := o.c.call(o.ctx, http.MethodPost, "/v1/admin/deliveries/refire", nil, body, &started); err != nil {
		return err
	}
	if started.JobID == nil {
		fmt.Fprintln(o.env.Out, "no delivery matches: nothing to re-fire")
		return nil
	}
	fmt.Fprintf(o.env.Err, "job %s: re-firing %d deliveries\n", *started.JobID, started.Count)
	tick := time.NewTicker(o.env.PollInterval)
	defer tick.Stop()
	for {
		var raw json.RawMessage
		if err := o.c.call(o.ctx, http.MethodGet, "/v1/admin/deliveries/refire/"+url.PathEscape(*started.JobID), nil, nil, &raw); err != nil {
			return err
		}
		var job struct {
			State      string     `json:"state"`
			Total      int        `json:"total"`
			Refired    int        `json:"refired"`
			Passed     int        `json:"passed"`
			FinishedAt *time.Time `json:"finished_at"`
		}
		if err := json.Unmarshal(raw, &job); err != nil {
			return err
		}
		fmt.Fprintf(o.env.Err, "\rjob %s: %s, %d/%d re-fired, %d passed over", *started.JobID, job.State, job.Refired, job.Total, job.Passed)
		if job.FinishedAt != nil {
			fmt.Fprintln(o.env.Err)
			if o.json {
				return o.printJSON(raw)
			}
			fmt.Fprintf(o.env.Out, "job %s %s: %d of %d re-fired, %d passed over (no longer matching or pending)\n",
				*started.JobID, job.State, job.Refired, job.Total, job.Passed)
			return nil
		}
		select {
		case <-o.ctx.Done():
			fmt.Fprintln(o.env.Err)
			return fmt.Errorf("stopped following job %s (it goes on): %w", *started.JobID, o.ctx.Err())
		case <-tick.C:
		}
	}
}

func conversionCommand(fs *pflag.FlagSet) func(*op, []string) error {
	integration := fs.String("integration", "", "the integration the event came from (required)")
	affiliate := fs.String("affiliate", "", "also read this affiliate's ledger entries (the deliveries' affiliates are read anyway)")
	ui := fs.String("temporal-ui", "", "the Temporal UI (default $AFFRELAY_TEMPORAL_UI, else http://127.0.0.1:8233)")
	namespace := fs.String("namespace", "", "the Temporal namespace (default $AFFRELAY_TEMPORAL_NAMESPACE, else default)")
	return func(o *op, args []string) error {
		if len(args) != 1 {
			return errors.New("name one event id: affrelay ops conversion <event_id> --integration int_…")
		}
		if *integration == "" {
			return errors.New("--integration is required: an event id is unique per integration")
		}
		eventID := args[0]
		var conv conversion
		convPath := "/v1/admin/conversions/" + url.PathEscape(*integration) + "/" + url.PathEscape(eventID)
		if err := o.c.call(o.ctx, http.MethodGet, convPath, nil, nil, &conv); err != nil {
			return err
		}
		// The event as its sender sent it; an event older than evidence.request_retention has none (404).
		var received *receivedRequest
		var req receivedRequest
		err := o.c.call(o.ctx, http.MethodGet, convPath+"/request", nil, nil, &req)
		var apiErr *apiError
		switch {
		case err == nil:
			received = &req
		case !errors.As(err, &apiErr) || apiErr.Status != http.StatusNotFound:
			return err
		}
		var page struct {
			Deliveries []delivery `json:"deliveries"`
		}
		if err := o.c.call(o.ctx, http.MethodGet, "/v1/admin/deliveries", url.Values{"event_id": {eventID}, "limit": {"1000"}}, nil, &page); err != nil {
			return err
		}
		// The listing is by event id across integrations: keep this conversion's deliveries.
		ours := map[string]bool{}
		for _, d := range conv.Deliveries {
			ours[d.ID] = true
		}
		page.Deliveries = slices.DeleteFunc(page.Deliveries, func(d delivery) bool { return !ours[d.ID] })
		affiliates := map[string]bool{}
		for _, id := range []string{*affiliate, conv.AffiliateID} {
			if id != "" {
				affiliates[id] = true
			}
		}
		for _, d := range page.Deliveries {
			if d.AffiliateID != "" {
				affiliates[d.AffiliateID] = true
			}
		}
		var entries []ledgerEntry
		for id := range affiliates {
			var list struct {
				Entries []ledgerEntry `json:"entries"`
			}
			if err := o.c.call(o.ctx, http.MethodGet, "/v1/admin/affiliates/"+url.PathEscape(id)+"/ledger-entries", nil, nil, &list); err != nil {
				return err
			}
			for _, e := range list.Entries {
				if e.EventID == eventID {
					entries = append(entries, e)
				}
			}
		}
		sort.Slice(entries, func(i, j int) bool { return entries[i].EventAt.Before(entries[j].EventAt) })
		workflowID := firstNonEmpty(conv.WorkflowID, "conversion:"+*integration+":"+eventID)
		link := strings.TrimRight(firstNonEmpty(*ui, o.env.Getenv("AFFRELAY_TEMPORAL_UI"), "http://127.0.0.1:8233"), "/") +
			"/namespaces/" + url.PathEscape(firstNonEmpty(*namespace, o.env.Getenv("AFFRELAY_TEMPORAL_NAMESPACE"), "default")) +
			"/workflows/" + url.PathEscape(workflowID)
		if o.json {
			return o.printJSON(map[string]any{
				"conversion": conv, "workflow_id": workflowID, "temporal_ui": link,
				"request": received, "ledger_entries": entries, "deliveries": page.Deliveries,
			})
		}
		fmt.Fprintf(o.env.Out, "%s %s of integration %s (%s)\n", conv.Event, eventID, *integration, conv.ID)
		amount := "-"
		if conv.Amount != nil {
			amount = conv.Amount.Amount + " " + conv.Amount.Currency
		}
		fmt.Fprintf(o.env.Out, "affiliate %s, player %s, click %s, amount %s, occurred %s, recorded %s\n",
			firstNonEmpty(conv.AffiliateID, "none"), firstNonEmpty(conv.PlayerID, "-"), firstNonEmpty(conv.ClickID, "-"), amount,
			conv.OccurredAt.Format(time.RFC3339), conv.CreatedAt.Format(time.RFC3339))
		fmt.Fprintf(o.env.Out, "workflow %s\n%s\n", workflowID, link)
		if received == nil {
			fmt.Fprintln(o.env.Out, "\nreceived: no request kept for this event (none recorded, or older than evidence.request_retention)")
		} else {
			target := received.Path
			if received.Query != "" {
				target += "?" + received.Query
			}
			fmt.Fprintf(o.env.Out, "\nreceived %s from %s with key %s; signature: %s\n  %s %s\n", received.ReceivedAt.Format(time.RFC3339),
				received.ClientIP, firstNonEmpty(received.KeyID, "-"), cut(received.SignatureVerdict, 60), received.Method, cut(target, 160))
			if received.Body != "" {
				fmt.Fprintf(o.env.Out, "  body (%s, %d bytes): %s\n", received.BodyEncoding, received.BodySize, cut(received.Body, 100))
			}
			fmt.Fprintf(o.env.Out, "  answered %d %s\n", received.Response.Status, cut(received.Response.Body, 80))
		}
		fmt.Fprintf(o.env.Out, "\nledger entries (%d):\n", len(entries))
		if len(entries) > 0 {
			rows := make([][]string, len(entries))
			for i, e := range entries {
				rows[i] = []string{e.ID, e.Kind, e.Status, e.Amount + " " + e.Currency, e.PlayerID, e.EventAt.Format(time.RFC3339)}
			}
			if err := o.table([]string{"ENTRY", "KIND", "STATUS", "AMOUNT", "PLAYER", "EVENT AT"}, rows); err != nil {
				return err
			}
		}
		fmt.Fprintf(o.env.Out, "\ndeliveries (%d):\n", len(page.Deliveries))
		for _, d := range page.Deliveries {
			what := d.EventType
			if what == "" {
				what = d.Kind
			}
			fmt.Fprintf(o.env.Out, "%s  %s  %s  %s %s\n", d.ID, what, d.Status, d.Method, cut(d.URL, 80))
			if d.StatusReason != "" {
				fmt.Fprintf(o.env.Out, "  reason: %s\n", cut(d.StatusReason, 100))
			}
			rows := make([][]string, len(d.Attempts))
			for i, a := range d.Attempts {
				outcome := a.Error
				if outcome == "" {
					outcome = cut(a.ResponseBody, maxCell)
				}
				rows[i] = []string{strconv.Itoa(a.Number), a.StartedAt.Format(time.RFC3339), strconv.FormatInt(a.DurationMS, 10) + "ms", strconv.Itoa(a.StatusCode), outcome}
			}
			if len(rows) > 0 {
				if err := o.table([]string{"#", "STARTED", "TOOK", "CODE", "ERROR OR ANSWER"}, rows); err != nil {
					return err
				}
			}
		}
		return nil
	}
}

func endpointsCommand(fs *pflag.FlagSet) func(*op, []string) error {
	affiliate := fs.String("affiliate", "", "only this affiliate's")
	return func(o *op, _ []string) error {
		subs, err := listAll[webhookSubscription](o, "/v1/admin/webhooks", url.Values{}, "webhooks")
		if err != nil {
			return err
		}
		var q queue
		if err := o.c.call(o.ctx, http.MethodGet, "/v1/admin/queue", url.Values{"limit": {"1000"}}, nil, &q); err != nil {
			return err
		}
		undelivered := map[string]int64{}
		for _, t := range q.ByTarget {
			undelivered[t.TargetID] = t.Total
		}
		var webhooks []webhookSubscription
		for _, s := range subs {
			if *affiliate == "" || s.AffiliateID == *affiliate {
				webhooks = append(webhooks, s)
			}
		}
		query := url.Values{}
		if *affiliate != "" {
			query.Set("affiliate_id", *affiliate)
		}
		endpoints, err := listAll[postbackEndpoint](o, "/v1/admin/postback-endpoints", query, "postback_endpoints")
		if err != nil {
			return err
		}
		if o.json {
			return o.printJSON(map[string]any{"webhooks": webhooks, "postback_endpoints": endpoints, "targets_with_undelivered": q.ByTarget})
		}
		fmt.Fprintf(o.env.Out, "webhook subscriptions (%d):\n", len(webhooks))
		rows := make([][]string, len(webhooks))
		for i, s := range webhooks {
			state := "enabled"
			if !s.Enabled {
				state = "disabled: " + s.DisabledReason
			}
			rows[i] = []string{s.ID, s.Kind, s.AffiliateID, state, strconv.Itoa(s.ConsecutiveFailures), strconv.FormatInt(undelivered[s.ID], 10), s.URL}
		}
		if err := o.table([]string{"SUBSCRIPTION", "KIND", "AFFILIATE", "STATE", "FAILURES IN A ROW", "UNDELIVERED", "URL"}, rows); err != nil {
			return err
		}
		fmt.Fprintf(o.env.Out, "\npostback endpoints (%d):\n", len(endpoints))
		rows = make([][]string, len(endpoints))
		for i, ep := range endpoints {
			state := "enabled"
			if !ep.Enabled {
				state = "disabled: " + ep.DisabledReason
			}
			rows[i] = []string{ep.ID, ep.AffiliateID, state, strconv.Itoa(ep.ConsecutiveFailures), strconv.FormatInt(undelivered[ep.ID], 10), strings.Join(ep.Events, ","), ep.URL}
		}
		return o.table([]string{"ENDPOINT", "AFFILIATE", "STATE", "FAILURES IN A ROW", "UNDELIVERED", "EVENTS", "URL"}, rows)
	}
}

func rotateKeyCommand(*pflag.FlagSet) func(*op, []string) error {
	return func(o *op, args []string) error {
		if len(args) != 0 {
			return errors.New("rotate-key takes no arguments: the key is the servers' secrets.current_key")
		}
		var answer struct {
			Resealed map[string]int `json:"resealed"`
		}
		var raw json.RawMessage
		if err := o.c.call(o.ctx, http.MethodPost, "/v1/admin/secrets/rotate-key", nil, nil, &raw); err != nil {
			return err
		}
		if o.json {
			return o.printJSON(raw)
		}
		if err := json.Unmarshal(raw, &answer); err != nil {
			return err
		}
		if len(answer.Resealed) == 0 {
			fmt.Fprintln(o.env.Out, "every secret is sealed under the current key already")
			return nil
		}
		rows := make([][]string, 0, len(answer.Resealed))
		for column, n := range answer.Resealed {
			rows = append(rows, []string{column, strconv.Itoa(n)})
		}
		sort.Slice(rows, func(i, j int) bool { return rows[i][0] < rows[j][0] })
		return o.table([]string{"COLUMN", "RE-SEALED"}, rows)
	}
}

// listAll follows a paged admin listing (after / next_after, 1000 a page) to its end and returns the items
// found under name.
func listAll[T any](o *op, path string, query url.Values, name string) ([]T, error) {
	var all []T
	query.Set("limit", "1000")
	for {
		var page map[string]json.RawMessage
		if err := o.c.call(o.ctx, http.MethodGet, path, query, nil, &page); err != nil {
			return nil, err
		}
		var items []T
		if err := json.Unmarshal(page[name], &items); err != nil {
			return nil, fmt.Errorf("GET %s: %s: %w", path, name, err)
		}
		all = append(all, items...)
		var next string
		if raw, ok := page["next_after"]; ok {
			if err := json.Unmarshal(raw, &next); err != nil {
				return nil, fmt.Errorf("GET %s: next_after: %w", path, err)
			}
		}
		if next == "" {
			return all, nil
		}
		query.Set("after", next)
	}
}
