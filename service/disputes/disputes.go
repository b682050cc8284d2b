// Package disputes is the application service that builds a conversion's evidence bundle for a dispute: the
// request as received and the answer sent, the conversion, its ledger entries, every delivery attempt, the
// audit rows and the Temporal workflow histories, signed (package evidence assembles and signs it).
package disputes

import (
	"context"
	"crypto/ed25519"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	enumspb "go.temporal.io/api/enums/v1"
	historypb "go.temporal.io/api/history/v1"
	"go.temporal.io/api/serviceerror"
	"go.temporal.io/api/workflowservice/v1"
	"go.temporal.io/sdk/client"
	"google.golang.org/protobuf/encoding/protojson"

	"github.com/affrelay/affrelay/apperr"
	"github.com/affrelay/affrelay/auditchain"
	"github.com/affrelay/affrelay/evidence"
	"github.com/affrelay/affrelay/money"
	"github.com/affrelay/affrelay/postback"
	"github.com/affrelay/affrelay/service/deliveries"
	"github.com/affrelay/affrelay/store"
	"github.com/affrelay/affrelay/workflows"
)

// ErrNoSigningKey: bundles cannot be signed (503).
var ErrNoSigningKey = errors.New("no evidence signing key is configured: set evidence.signing_key (AFFRELAY_EVIDENCE_SIGNING_KEY), the standard base64 of 32 random bytes (openssl rand -base64 32)")

// Service builds evidence bundles.
type Service struct {
	Store      *store.Store
	Temporal   client.Client
	Namespace  string
	Deliveries *deliveries.Service
	// Key signs bundles; nil when none is configured.
	Key ed25519.PrivateKey
	Now func() time.Time
}

// PublicKey is the key a bundle's signature verifies with, for the operator to publish.
func (s *Service) PublicKey() (ed25519.PublicKey, error) {
	if s.Key == nil {
		return nil, ErrNoSigningKey
	}
	return s.Key.Public().(ed25519.PublicKey), nil
}

// bundle is a bundle being gathered.
type bundle struct {
	files    []evidence.File
	missing  []evidence.Missing
	timeline []evidence.Moment
}

func (b *bundle) addJSON(path string, v any) error {
	data, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	b.files = append(b.files, evidence.File{Path: path, Data: append(data, '\n')})
	return nil
}

func (b *bundle) moment(at time.Time, what, detail string) {
	b.timeline = append(b.timeline, evidence.Moment{At: at, What: what, Detail: detail})
}

// Bundle builds the signed evidence bundle (a zip) of the integration's event. Whatever Temporal no longer
// retains, or the database no longer keeps, is named in the manifest and the summary as missing; the bundle
// is built from what remains.
func (s *Service) Bundle(ctx context.Context, integrationID, eventID string) ([]byte, error) {
	if s.Key == nil {
		return nil, ErrNoSigningKey
	}
	cv, ok, err := s.Store.Conversions(ctx).Event(integrationID, eventID)
	if err != nil {
		return nil, err
	}
	if !ok {
		return nil, apperr.NotFound(fmt.Sprintf("event %s of integration %s", eventID, integrationID))
	}
	now := time.Now().UTC()
	if s.Now != nil {
		now = s.Now().UTC()
	}
	b := &bundle{}
	requestID, err := s.addRequest(ctx, b, cv)
	if err != nil {
		return nil, err
	}
	if err := b.addJSON("conversion.json", cv); err != nil {
		return nil, err
	}
	b.moment(cv.CreatedAt, "conversion recorded", fmt.Sprintf("%s %s, status %s, affiliate %s, workflow %s", cv.Event, cv.ID, cv.Status, orNone(cv.AffiliateID), cv.WorkflowID))
	if err := s.addLedger(ctx, b, cv); err != nil {
		return nil, err
	}
	ds, err := s.Deliveries.List(ctx, deliveries.Filter{ConversionID: cv.ID, Limit: 1000}, "")
	if err != nil {
		return nil, err
	}
	sort.Slice(ds, func(i, j int) bool {
		return ds[i].CreatedAt.Before(ds[j].CreatedAt) || (ds[i].CreatedAt.Equal(ds[j].CreatedAt) && ds[i].ID < ds[j].ID)
	})
	if err := s.addDeliveries(b, ds); err != nil {
		return nil, err
	}
	if err := s.addAudit(ctx, b, cv, requestID, ds); err != nil {
		return nil, err
	}
	if err := s.addHistories(ctx, b, cv, ds); err != nil {
		return nil, err
	}
	names := make([]string, 0, len(b.files)+3)
	for _, f := range b.files {
		names = append(names, f.Path)
	}
	names = append(names, evidence.SummaryPath, evidence.ManifestPath, evidence.SignaturePath)
	page, err := evidence.RenderSummary(evidence.Summary{
		IntegrationID: integrationID, EventID: eventID, CreatedAt: now, Facts: facts(cv), Timeline: b.timeline,
		Missing: b.missing, Files: names,
	})
	if err != nil {
		return nil, err
	}
	b.files = append(b.files, evidence.File{Path: evidence.SummaryPath, Data: page})
	return evidence.Seal(s.Key, integrationID, eventID, now, b.files, b.missing)
}

func orNone(s string) string {
	if s == "" {
		return "none"
	}
	return s
}

// facts are the conversion's fields as the summary shows them.
func facts(cv store.Conversion) []evidence.Fact {
	amount := "-"
	if cv.Currency != "" {
		amount = money.Format(cv.AmountMinor, cv.Currency) + " " + cv.Currency
	}
	out := []evidence.Fact{
		{Name: "Conversion", Value: cv.ID}, {Name: "Integration", Value: cv.IntegrationID}, {Name: "Event id", Value: cv.EventID},
		{Name: "Event", Value: cv.Event}, {Name: "Status", Value: cv.Status}, {Name: "Affiliate", Value: orNone(cv.AffiliateID)},
		{Name: "Player", Value: orNone(cv.PlayerID)}, {Name: "Click", Value: orNone(cv.ClickID)}, {Name: "Amount", Value: amount},
		{Name: "Occurred", Value: cv.OccurredAt.UTC().Format(time.RFC3339Nano)}, {Name: "Recorded", Value: cv.CreatedAt.UTC().Format(time.RFC3339Nano)},
		{Name: "Workflow", Value: cv.WorkflowID},
	}
	if cv.OriginalEventID != "" {
		out = append(out, evidence.Fact{Name: "Undoes event", Value: cv.OriginalEventID})
	}
	return out
}

// addRequest adds request.json: the postback as received and the answer sent. It returns the request id.
func (s *Service) addRequest(ctx context.Context, b *bundle, cv store.Conversion) (string, error) {
	r, ok, err := s.Store.Conversions(ctx).Request(cv.IntegrationID, cv.EventID)
	if err != nil {
		return "", err
	}
	if !ok {
		b.missing = append(b.missing, evidence.Missing{Item: "request.json",
			Reason: "the request this event was recorded from is not kept: received before requests were kept, deleted after evidence.request_retention, or the event was imported by reconciliation"})
		return "", nil
	}
	var headers map[string][]string
	if err := json.Unmarshal([]byte(r.Headers), &headers); err != nil {
		return "", fmt.Errorf("request headers of %s: %w", cv.EventID, err)
	}
	doc := struct {
		Request  store.ConversionRequest `json:"request"`
		Headers  map[string][]string     `json:"headers"`
		Response struct {
			Status int    `json:"status"`
			Body   string `json:"body"`
		} `json:"response"`
	}{Request: r, Headers: headers}
	doc.Response.Status, doc.Response.Body = r.ResponseStatus, r.ResponseBody
	target := r.Path
	if r.Query != "" {
		target += "?" + r.Query
	}
	b.moment(r.ReceivedAt, "postback received", fmt.Sprintf("%s %s from %s, key %s, signature %s, body %d bytes (sha256 %s)",
		r.Method, target, r.ClientIP, orNone(r.KeyID), r.SignatureVerdict, r.BodySize, r.BodySHA256))
	b.moment(r.ReceivedAt, "postback answered", fmt.Sprintf("%d %s", r.ResponseStatus, r.ResponseBody))
	return r.RequestID, b.addJSON("request.json", doc)
}

// ledgerEntry is an entry with what it was computed from.
type ledgerEntry struct {
	Entry store.LedgerEntry `json:"entry"`
	// Plan is the plan version that paid it (its rules: CPA amount, minimum first deposit, cumulative
	// deposits, window, tiers, hold).
	Plan *store.Plan `json:"plan_version"`
	// FXRate is the rate the event's amount was converted at ("" when it was in the plan's currency).
	FXRate string `json:"fx_rate"`
	// PlayerConversions are the player's approved conversions up to the entry's event (by this integration
	// and affiliate): the facts a CPA's qualification rules were applied to.
	PlayerConversions []store.Conversion      `json:"qualification_player_conversions,omitempty"`
	Transitions       []store.EntryTransition `json:"transitions"`
}

// addLedger adds ledger.json: the conversion's entries and the entries adjusting them.
func (s *Service) addLedger(ctx context.Context, b *bundle, cv store.Conversion) error {
	q := s.Store.Ledger(ctx)
	entries, err := q.ConversionEntries(cv.ID)
	if err != nil {
		return err
	}
	seen := map[string]bool{}
	keys := []string{}
	for _, e := range entries {
		seen[e.ID] = true
		keys = append(keys, e.SourceKey)
	}
	adjusting, err := q.Adjusting(keys)
	if err != nil {
		return err
	}
	for _, e := range adjusting {
		if !seen[e.ID] {
			seen[e.ID] = true
			entries = append(entries, e)
		}
	}
	var planIDs, entryIDs []string
	for _, e := range entries {
		entryIDs = append(entryIDs, e.ID)
		if e.PlanID != "" && !slices.Contains(planIDs, e.PlanID) {
			planIDs = append(planIDs, e.PlanID)
		}
	}
	plans, err := q.PlansByID(planIDs)
	if err != nil {
		return err
	}
	transitions, err := q.TransitionsOf(entryIDs)
	if err != nil {
		return err
	}
	out := make([]ledgerEntry, len(entries))
	for i, e := range entries {
		out[i] = ledgerEntry{Entry: e, FXRate: e.FXRate, Transitions: []store.EntryTransition{}}
		for j := range plans {
			if plans[j].ID == e.PlanID {
				out[i].Plan = &plans[j]
			}
		}
		for _, t := range transitions {
			if t.LedgerEntryID == e.ID {
				out[i].Transitions = append(out[i].Transitions, t)
				b.moment(t.At, "ledger entry "+e.ID+" "+t.From+" → "+t.To, fmt.Sprintf("by %s: %s", t.Actor, t.Reason))
			}
		}
		if e.Kind == "cpa" && e.PlayerID != "" {
			all, err := q.PlayerConversions(cv.IntegrationID, e.AffiliateID, e.PlayerID)
			if err != nil {
				return err
			}
			for _, c := range all {
				if !c.OccurredAt.After(e.EventAt) {
					out[i].PlayerConversions = append(out[i].PlayerConversions, c)
				}
			}
		}
		detail := fmt.Sprintf("%s %s %s to %s, plan version %s, event %s", e.Kind, money.Format(e.AmountMinor, e.Currency), e.Currency, e.AffiliateID, orNone(e.PlanID), e.EventID)
		if e.FXRate != "" {
			detail += ", FX " + e.FXRate
		}
		b.moment(e.CreatedAt, "ledger entry "+e.ID+" written ("+e.Status+" now)", detail)
	}
	if len(entries) == 0 {
		b.moment(cv.CreatedAt, "no ledger entry", "the event earned no commission")
	}
	return b.addJSON("ledger.json", struct {
		Entries []ledgerEntry `json:"entries"`
	}{out})
}

// delivery is a delivery with every attempt, each with the request as sent.
type delivery struct {
	Delivery store.Delivery         `json:"delivery"`
	Attempts []attempt              `json:"attempts"`
	Refires  []store.DeliveryRefire `json:"refires"`
}

type attempt struct {
	store.DeliveryAttempt
	// HeadersSent is RequestHeaders decoded.
	HeadersSent map[string][]string `json:"HeadersSent,omitempty"`
}

// addDeliveries adds deliveries.json: every delivery of the conversion with every attempt and re-fire.
func (s *Service) addDeliveries(b *bundle, ds []deliveries.WithAttempts) error {
	out := make([]delivery, len(ds))
	for i, d := range ds {
		out[i] = delivery{Delivery: d.Delivery, Attempts: make([]attempt, len(d.AttemptLog)), Refires: d.Refires}
		if out[i].Refires == nil {
			out[i].Refires = []store.DeliveryRefire{}
		}
		b.moment(d.CreatedAt, "delivery "+d.ID+" planned", fmt.Sprintf("%s %s to %s (%s %s), now %s %s", d.Kind, d.EventType, d.EndpointID, d.Method, d.URL, d.Status, d.StatusReason))
		for j, a := range d.AttemptLog {
			out[i].Attempts[j] = attempt{DeliveryAttempt: a}
			if a.RequestHeaders != "" {
				if err := json.Unmarshal([]byte(a.RequestHeaders), &out[i].Attempts[j].HeadersSent); err != nil {
					return fmt.Errorf("headers of attempt %d of %s: %w", a.Number, d.ID, err)
				}
			}
			outcome := "no response"
			if a.StatusCode != 0 {
				outcome = strconv.Itoa(a.StatusCode)
			}
			if a.Error != "" {
				outcome += ": " + a.Error
			}
			detail := fmt.Sprintf("%s %s → %s in %d ms", d.Method, firstNonEmpty(a.URL, d.URL), outcome, a.DurationMS)
			if a.ResponseBody != "" {
				detail += "\nresponse: " + a.ResponseBody
			}
			b.moment(a.StartedAt, fmt.Sprintf("attempt %d of delivery %s", a.Number, d.ID), detail)
		}
		for _, r := range d.Refires {
			b.moment(r.RequestedAt, "delivery "+d.ID+" re-fired", fmt.Sprintf("was %s; reason: %s %s", r.PreviousStatus, r.Reason, r.JobID))
		}
	}
	return b.addJSON("deliveries.json", struct {
		Deliveries []delivery `json:"deliveries"`
	}{out})
}

func firstNonEmpty(a, b string) string {
	if a != "" {
		return a
	}
	return b
}

// addAudit adds audit.json: the audit rows of the postback's request and of the admin calls on the
// conversion and its deliveries, and the proof that they are on the audit chain up to the next daily
// checkpoint.
func (s *Service) addAudit(ctx context.Context, b *bundle, cv store.Conversion, requestID string, ds []deliveries.WithAttempts) error {
	conv := "/v1/admin/conversions/" + url.PathEscape(cv.IntegrationID) + "/" + url.PathEscape(cv.EventID)
	paths := []string{conv, conv + "/request", conv + "/evidence"}
	for _, d := range ds {
		for _, action := range []string{"redeliver", "replay", "skip", "refire"} {
			paths = append(paths, "/v1/admin/deliveries/"+url.PathEscape(d.ID)+"/"+action)
		}
	}
	var ids []string
	if requestID != "" {
		ids = append(ids, requestID)
	}
	rows, err := s.Store.Audit(ctx).Concerning(ids, paths, cv.CreatedAt.Add(-time.Minute))
	if err != nil {
		return err
	}
	found := false
	var chained []string
	for _, r := range rows {
		found = found || (requestID != "" && r.RequestID == requestID)
		if r.Seq != nil && !slices.Contains(chained, r.RequestID) {
			chained = append(chained, r.RequestID)
		}
		b.moment(r.Time, "API call logged (audit row "+strconv.FormatUint(uint64(r.ID), 10)+")", fmt.Sprintf("%s %s → %d from %s", r.Method, r.Path, r.Status, r.ClientIP))
	}
	if requestID != "" && !found {
		b.missing = append(b.missing, evidence.Missing{Item: "audit row of request " + requestID,
			Reason: "not in the audit log: deleted after audit.retention"})
	}
	if rows == nil {
		rows = []store.AuditRecord{}
	}
	trail := evidence.AuditTrail{Rows: rows, ChainRows: []auditchain.Row{}}
	if len(rows) > 0 && len(chained) == 0 {
		b.missing = append(b.missing, evidence.Missing{Item: "audit chain proof",
			Reason: "the audit rows were written before the audit log was hash-chained"})
	}
	if len(chained) > 0 {
		ev, err := s.Store.Audit(ctx).Evidence(chained)
		if err != nil {
			// A gap in the chain is what the proof exists to show: say so rather than fail the bundle.
			b.missing = append(b.missing, evidence.Missing{Item: "audit chain proof", Reason: "the audit chain does not verify here: " + err.Error()})
		} else {
			trail.ChainRows, trail.Proof = store.ChainRows(ev.Rows), &ev.Proof
			if ev.Checkpoint != nil {
				trail.Checkpoint = ev.Checkpoint
				b.moment(ev.Checkpoint.CreatedAt, "audit checkpoint sent", fmt.Sprintf("chain head at row %d, hash %s: the proof in audit.json ends here", ev.Checkpoint.Seq, ev.Checkpoint.Hash))
			} else {
				b.missing = append(b.missing, evidence.Missing{Item: "audit checkpoint",
					Reason: fmt.Sprintf("no daily audit.checkpoint was sent since the rows were written: the proof ends at the chain's head when the bundle was made (row %d, hash %s)", ev.Proof.To.Seq, ev.Proof.To.Hash)})
			}
		}
	}
	return b.addJSON(evidence.AuditPath, trail)
}

// history is one workflow run in histories.json.
type history struct {
	WorkflowID string `json:"workflow_id"`
	RunID      string `json:"run_id,omitempty"`
	Path       string `json:"path,omitempty"`
	Events     int    `json:"events,omitempty"`
	// Note says why there is no history: none was expected, or Temporal no longer retains it.
	Note string `json:"note,omitempty"`
}

// addHistories adds every run of the conversion's workflows and its deliveries' workflows, each as
// `temporal workflow show -o json` exports it, and histories.json listing them.
func (s *Service) addHistories(ctx context.Context, b *bundle, cv store.Conversion, ds []deliveries.WithAttempts) error {
	type wanted struct {
		id       string
		expected bool   // missing is worth saying
		none     string // why none may exist
	}
	ids := []wanted{{id: firstNonEmpty(cv.WorkflowID, workflows.ConversionWorkflowID(cv.IntegrationID, cv.EventID)), expected: cv.WorkflowID != ""}}
	if cv.WorkflowID == "" {
		ids[0].none = "the conversion was recorded without a workflow (imported by reconciliation)"
	}
	for _, st := range postback.Statuses {
		id := workflows.ConversionStatusWorkflowID(cv.IntegrationID, cv.EventID, st)
		ids = append(ids, wanted{id: id, expected: id == cv.StatusWorkflowID, none: "no status change to " + st})
	}
	for _, d := range ds {
		w := wanted{id: workflows.DeliveryWorkflowID(d.ID), expected: true}
		if d.Status == store.DeliveryDelivered && d.Attempts == 1 && len(d.Refires) == 0 {
			w.expected, w.none = false, "none: delivered by its first attempt, made inline in the conversion's workflow"
		}
		ids = append(ids, w)
	}
	var index []history
	used := map[string]bool{}
	for _, w := range ids {
		runs, err := s.runs(ctx, w.id)
		if err != nil {
			return err
		}
		exported := 0
		for _, run := range runs {
			h, err := s.history(ctx, w.id, run)
			var notFound *serviceerror.NotFound
			if errors.As(err, &notFound) {
				continue
			}
			if err != nil {
				return fmt.Errorf("history of %s run %s: %w", w.id, run, err)
			}
			data, err := protojson.MarshalOptions{Multiline: true, Indent: "  "}.Marshal(h)
			if err != nil {
				return err
			}
			path := historyPath(w.id, run, used)
			b.files = append(b.files, evidence.File{Path: path, Data: append(data, '\n')})
			index = append(index, history{WorkflowID: w.id, RunID: run, Path: path, Events: len(h.Events)})
			if evs := h.GetEvents(); len(evs) > 0 {
				b.moment(evs[0].GetEventTime().AsTime(), "workflow "+w.id+" started", "run "+run+", "+strconv.Itoa(len(evs))+" events in "+path)
			}
			exported++
		}
		switch {
		case exported > 0:
		case w.expected:
			reason := "Temporal no longer retains it (closed workflows are kept for the namespace's retention period) or it was deleted; the database rows above are the record"
			b.missing = append(b.missing, evidence.Missing{Item: "workflow history " + w.id, Reason: reason})
			index = append(index, history{WorkflowID: w.id, Note: "missing: " + reason})
		case w.id == ids[0].id || strings.HasPrefix(w.id, "delivery:"):
			index = append(index, history{WorkflowID: w.id, Note: w.none})
		}
	}
	if index == nil {
		index = []history{}
	}
	return b.addJSON("histories.json", struct {
		Namespace string    `json:"namespace"`
		Histories []history `json:"histories"`
	}{s.Namespace, index})
}

// runs lists the run ids of a workflow id, oldest first: every run visibility lists (a re-fired delivery
// has several), and the latest run, which visibility may not list yet.
func (s *Service) runs(ctx context.Context, id string) ([]string, error) {
	var runs []string
	if !strings.ContainsAny(id, `"'\`) {
		req := &workflowservice.ListWorkflowExecutionsRequest{Namespace: s.Namespace, Query: `WorkflowId = "` + id + `"`}
		for {
			resp, err := s.Temporal.ListWorkflow(ctx, req)
			if err != nil {
				return nil, fmt.Errorf("list runs of %s: %w", id, err)
			}
			for _, e := range resp.GetExecutions() {
				runs = append(runs, e.GetExecution().GetRunId())
			}
			if req.NextPageToken = resp.GetNextPageToken(); len(req.NextPageToken) == 0 {
				break
			}
		}
		slices.Reverse(runs) // listed newest first
	}
	d, err := s.Temporal.DescribeWorkflowExecution(ctx, id, "")
	var notFound *serviceerror.NotFound
	switch {
	case errors.As(err, &notFound):
	case err != nil:
		return nil, fmt.Errorf("describe %s: %w", id, err)
	case !slices.Contains(runs, d.GetWorkflowExecutionInfo().GetExecution().GetRunId()):
		runs = append(runs, d.GetWorkflowExecutionInfo().GetExecution().GetRunId())
	}
	return runs, nil
}

// history reads one run's whole history.
func (s *Service) history(ctx context.Context, id, run string) (*historypb.History, error) {
	h := &historypb.History{}
	iter := s.Temporal.GetWorkflowHistory(ctx, id, run, false, enumspb.HISTORY_EVENT_FILTER_TYPE_ALL_EVENT)
	for iter.HasNext() {
		e, err := iter.Next()
		if err != nil {
			return nil, err
		}
		h.Events = append(h.Events, e)
	}
	return h, nil
}

var unsafeName = regexp.MustCompile(`[^A-Za-z0-9._-]+`)

// historyPath names a run's file: histories/<workflow id, made a file name>/<run id>.json, unique in used.
func historyPath(id, run string, used map[string]bool) string {
	dir := strings.Trim(unsafeName.ReplaceAllString(id, "_"), "._")
	base := "histories/" + dir + "/" + unsafeName.ReplaceAllString(run, "_")
	path := base + ".json"
	for n := 2; used[path]; n++ {
		path = base + "-" + strconv.Itoa(n) + ".json"
	}
	used[path] = true
	return path
}
