package e2e

import (
	"bytes"
	"compress/gzip"
	"context"
	"crypto/sha256"
	"encoding/csv"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/client"

	"github.com/affrelay/affrelay/activities"
	"github.com/affrelay/affrelay/commission"
	"github.com/affrelay/affrelay/config"
	"github.com/affrelay/affrelay/money"
	"github.com/affrelay/affrelay/store"
	"github.com/affrelay/affrelay/webhook"
	"github.com/affrelay/affrelay/workflows"
)

func (e *testEnv) uploadBatch(key, contentType, body string) response {
	e.t.Helper()
	return e.do("POST", "/v1/reconciliation/batches", map[string]string{"X-API-Key": key, "Content-Type": contentType}, strings.NewReader(body))
}

// batchDone waits for a batch to complete and returns its report.
func (e *testEnv) batchDone(key, batchID string) response {
	e.t.Helper()
	var r response
	eventually(e.t, 60*time.Second, "batch "+batchID+" completed", func() bool {
		r = e.do("GET", "/v1/reconciliation/batches/"+batchID, map[string]string{"X-API-Key": key}, nil)
		require.Equal(e.t, http.StatusOK, r.Status, r.Raw)
		return r.Body["status"] == store.BatchCompleted
	})
	return r
}

// reconSetup creates an integration and a hybrid affiliate: a 200.00 CPA on the first deposit, and 25% of
// the month's NGR.
func reconSetup(e *testEnv) (*commissionMonth, string) {
	e.t.Helper()
	r := e.admin("POST", "/v1/admin/integrations", map[string]any{"name": "casino-" + store.NewID("n")})
	require.Equal(e.t, http.StatusCreated, r.Status, r.Raw)
	m := &commissionMonth{e: e, key: r.Body["api_key"].(string), integrationID: r.Body["id"].(string)}
	return m, m.createAffiliate("Recon", map[string]any{
		"type": "hybrid", "amount": "200.00", "currency": "USD", "tier_mode": "tiered",
		"tiers": []map[string]any{{"from": "0", "rate": "25"}},
	}, nil)
}

const reconHeader = "date,player_id,affiliate_id,first_deposit,deposits,ngr,currency\n"

// reconFile is October as the operator's books have it: it confirms p1's 10-01 and 10-15 and p2's 10-02,
// corrects p1's NGR on 10-04 (+40.00) and p2's deposits on 10-05 (+15.00), adds p3 whom real time never saw
// and a day of p1's real time lacks (10-20), and omits p1's 10-07.
func reconFile(affiliateID, p1Oct04NGR string) string {
	return reconHeader +
		"2026-10-01,p1,,50.00,50.00,100.00,USD\n" +
		"2026-10-04,p1,,,0," + p1Oct04NGR + ",USD\n" +
		"2026-10-15,p1,,,0,80.00,USD\n" +
		"2026-10-02,p2,,100.00,100.00,0,USD\n" +
		"2026-10-05,p2,,,45.00,60.00,USD\n" +
		"2026-10-10,p3," + affiliateID + ",80.00,80.00,20.00,USD\n" +
		"2026-10-20,p1,,,,-10.00,USD\n"
}

func TestReconciliationCorrectsTheLedger(t *testing.T) {
	forEachStore(t, shortPolicy(3), func(t *testing.T, e *testEnv) {
		hooks := newWebhookReceiver(t, always(200))
		_, hookSecret := e.subscribe("webhook", hooks.srv.URL+"/ops", webhook.ReconciliationDone)
		m, aff := reconSetup(e)

		// A month of postbacks.
		m.send("p1-ftd", "ftd", aff, "p1", "50.00", "USD", "10-01")
		m.send("p1-r01", "revenue", aff, "p1", "100.00", "USD", "10-01")
		m.send("p2-ftd", "ftd", aff, "p2", "100.00", "USD", "10-02")
		m.send("p1-r04", "revenue", aff, "p1", "200.00", "USD", "10-04")
		m.send("p2-dep", "deposit", aff, "p2", "30.00", "USD", "10-05")
		m.send("p2-r05", "revenue", aff, "p2", "60.00", "USD", "10-05")
		m.send("p1-r07", "revenue", aff, "p1", "40.00", "USD", "10-07")
		m.send("p1-r15", "revenue", aff, "p1", "80.00", "USD", "10-15")

		// The independent computation: CPAs for every player with a first deposit, 25% of October's NGR.
		expected := func(players int, ngrCents int64) int64 {
			return int64(players)*20000 + commission.Percent(ngrCents, 2500)
		}
		before, _ := m.ledgerCents(aff)
		require.Equal(t, expected(2, 10000+20000+6000+4000+8000), before)

		up := e.uploadBatch(m.key, "text/csv", reconFile(aff, "240.00"))
		require.Equal(t, http.StatusAccepted, up.Status, up.Raw)
		require.Equal(t, "processing", up.Body["status"])
		batchID := up.Body["batch_id"].(string)
		content := sha256.Sum256([]byte(reconFile(aff, "240.00")))
		require.Equal(t, "reconciliation:"+m.integrationID+":"+hex.EncodeToString(content[:]), up.Body["workflow_id"], up.Raw)
		rep := e.batchDone(m.key, batchID)

		// p1: 100 + 240 + 40 (10-07, not in the file, kept) + 80 - 10; p2: 60; p3: 20.
		after, entries := m.ledgerCents(aff)
		require.Equal(t, expected(3, 10000+24000+4000+8000-1000+6000+2000), after)

		counts := rep.Body["counts"].(map[string]any)
		require.Equal(t, map[string]any{"rows": 7.0, "matched": 3.0, "corrected": 2.0, "missing_in_realtime": 2.0, "missing_in_file": 1.0,
			"unknown_players": 0.0, "unattributed": 0.0, "currency_mismatch": 0.0}, counts, rep.Raw)
		cur := rep.Body["currencies"].([]any)
		require.Len(t, cur, 1, rep.Raw)
		usd := cur[0].(map[string]any)
		require.Equal(t, "USD", usd["currency"])
		require.Equal(t, map[string]any{"deposits": "180.00", "ngr": "480.00"}, usd["realtime"])
		require.Equal(t, map[string]any{"deposits": "275.00", "ngr": "490.00"}, usd["file"])
		require.Equal(t, map[string]any{"deposits": "95.00", "ngr": "10.00"}, usd["difference"])
		// The report's commission delta is what the ledger moved.
		require.Equal(t, commissionString(after-before), usd["commission_delta"])

		// The differing rows, as JSON and as CSV.
		rows := e.do("GET", "/v1/reconciliation/batches/"+batchID+"/rows?status=corrected", map[string]string{"X-API-Key": m.key}, nil)
		require.Equal(t, http.StatusOK, rows.Status, rows.Raw)
		require.Len(t, rows.Body["rows"], 2, rows.Raw)
		first := rows.Body["rows"].([]any)[0].(map[string]any)
		require.Equal(t, "p1", first["player_id"])
		require.Equal(t, "40.00", first["ngr_difference"])
		require.Equal(t, "10.00", first["commission_delta"])
		// Paged, one row a page: each full page names the next; together they are the listing.
		var paged []any
		for after := ""; ; {
			page := e.do("GET", "/v1/reconciliation/batches/"+batchID+"/rows?status=corrected&limit=1"+after, map[string]string{"X-API-Key": m.key}, nil)
			require.Equal(t, http.StatusOK, page.Status, page.Raw)
			paged = append(paged, page.Body["rows"].([]any)...)
			next, ok := page.Body["next_after"].(float64)
			if !ok {
				break
			}
			after = fmt.Sprintf("&after=%.0f", next)
		}
		require.Equal(t, rows.Body["rows"], paged)
		for _, q := range []string{"status=nope", "limit=0", "limit=1001", "after=x"} {
			bad := e.do("GET", "/v1/reconciliation/batches/"+batchID+"/rows?"+q, map[string]string{"X-API-Key": m.key}, nil)
			require.Equal(t, http.StatusBadRequest, bad.Status, q+": "+bad.Raw)
		}
		csvResp := e.do("GET", "/v1/reconciliation/batches/"+batchID+"/rows", map[string]string{"X-API-Key": m.key, "Accept": "text/csv"}, nil)
		require.Equal(t, http.StatusOK, csvResp.Status, csvResp.Raw)
		records, err := csv.NewReader(strings.NewReader(csvResp.Raw)).ReadAll()
		require.NoError(t, err)
		require.Len(t, records, 1+5, csvResp.Raw) // header, 2 corrected, 2 missing in real time, 1 missing in file
		require.Equal(t, "missing_in_file", records[len(records)-1][4], csvResp.Raw)

		// reconciliation.completed, signed, with the summary.
		eventually(t, 30*time.Second, "reconciliation.completed delivered", func() bool { return len(hooks.ofType(webhook.ReconciliationDone)) == 1 })
		got := hooks.ofType(webhook.ReconciliationDone)[0]
		require.NoError(t, verify(t, hookSecret, got))
		var env struct {
			Data struct {
				BatchID string `json:"batch_id"`
				Summary struct {
					Counts map[string]float64 `json:"counts"`
				} `json:"summary"`
			} `json:"data"`
		}
		require.NoError(t, json.Unmarshal(got.Body, &env))
		require.Equal(t, batchID, env.Data.BatchID)
		require.Equal(t, 2.0, env.Data.Summary.Counts["corrected"])

		// The same content again: a duplicate that changes nothing, gzip or not.
		var gz bytes.Buffer
		zw := gzip.NewWriter(&gz)
		_, _ = zw.Write([]byte(reconFile(aff, "240.00")))
		require.NoError(t, zw.Close())
		dup := e.do("POST", "/v1/reconciliation/batches", map[string]string{"X-API-Key": m.key, "Content-Type": "text/csv", "Content-Encoding": "gzip"}, &gz)
		require.Equal(t, http.StatusOK, dup.Status, dup.Raw)
		require.Equal(t, "duplicate", dup.Body["status"])
		require.Equal(t, batchID, dup.Body["batch_id"])
		again, againEntries := m.ledgerCents(aff)
		require.Equal(t, after, again)
		require.Equal(t, entries, againEntries)
		require.EqualValues(t, 1, e.count(&store.ReconciliationBatch{}, "integration_id = ?", m.integrationID))
		// The first batch and its report stay (a duplicate once deleted them, keeping its own staging instead).
		require.Equal(t, rep.Body["counts"], e.batchDone(m.key, batchID).Body["counts"])
		require.EqualValues(t, 0, e.count(&store.ReconciliationBatch{}, "status = ?", store.BatchStaging))

		// A restatement: p1's 10-04 NGR is 300.00 after all; the ledger moves by the difference only.
		up2 := e.uploadBatch(m.key, "text/csv", reconFile(aff, "300.00"))
		require.Equal(t, http.StatusAccepted, up2.Status, up2.Raw)
		rep2 := e.batchDone(m.key, up2.Body["batch_id"].(string))
		restated, _ := m.ledgerCents(aff)
		require.Equal(t, expected(3, 10000+30000+4000+8000-1000+6000+2000), restated)
		require.Equal(t, 1.0, rep2.Body["counts"].(map[string]any)["corrected"], rep2.Raw)
		require.Equal(t, 6.0, rep2.Body["counts"].(map[string]any)["matched"], rep2.Raw)
		require.Equal(t, commissionString(restated-after), rep2.Body["currencies"].([]any)[0].(map[string]any)["commission_delta"])
	})
}

func commissionString(cents int64) string { return money.Format(cents, "USD") }

// cutOff is a body that breaks off after its first part, as a dropped connection does.
type cutOff struct{ r io.Reader }

func (c *cutOff) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	if errors.Is(err, io.EOF) {
		return n, errors.New("connection dropped")
	}
	return n, err
}

func TestReconciliationBadInputChangesNothing(t *testing.T) {
	forEachStore(t, shortPolicy(3), func(t *testing.T, e *testEnv) {
		r := e.admin("POST", "/v1/admin/integrations", map[string]any{"name": "casino-recon-bad"})
		require.Equal(t, http.StatusCreated, r.Status, r.Raw)
		key := r.Body["api_key"].(string)
		nothing := func() {
			t.Helper()
			require.EqualValues(t, 0, e.count(&store.ReconciliationBatch{}, "1 = 1"))
			require.EqualValues(t, 0, e.count(&store.ReconciliationRow{}, "1 = 1"))
			require.EqualValues(t, 0, e.count(&store.Conversion{}, "1 = 1"))
		}

		// Line and column of each error; the good rows beside them are not applied either.
		bad := e.uploadBatch(key, "text/csv", reconHeader+
			"2026-10-01,p1,,,10.00,1.00,USD\n"+
			"2026-10-32,p2,,,10.00,1.00,USD\n"+
			"2026-10-01,p3,,,10.001,1.00,USD\n"+
			"2026-10-01,,,,1,1,USD\n")
		require.Equal(t, http.StatusBadRequest, bad.Status, bad.Raw)
		errs := bad.Body["error"].(map[string]any)["errors"].([]any)
		require.Len(t, errs, 3, bad.Raw)
		require.Equal(t, map[string]any{"line": 3.0, "column": 1.0, "field": "date", "message": `"2026-10-32" is not a date as YYYY-MM-DD`}, errs[0])
		require.Equal(t, map[string]any{"line": 4.0, "column": 5.0, "field": "deposits", "message": `"10.001" has more than 2 decimal places for USD`}, errs[1])
		require.Equal(t, map[string]any{"line": 5.0, "column": 2.0, "field": "player_id", "message": "is missing"}, errs[2])
		nothing()

		// One player-day in two currencies.
		mixed := e.uploadBatch(key, "text/csv", reconHeader+"2026-10-01,p1,,,10.00,1.00,USD\n2026-10-02,p1,,,1,1,USD\n2026-10-01,p1,,,9.00,1.00,EUR\n")
		require.Equal(t, http.StatusBadRequest, mixed.Status, mixed.Raw)
		require.Contains(t, mixed.Raw, "in another currency")
		require.Contains(t, mixed.Raw, `"line":4,"column":2`)
		nothing()

		// 150 bad rows: the first 100 are listed, by line, and all are counted.
		many := e.uploadBatch(key, "text/csv", reconHeader+strings.Repeat("2026-10-01,p1,,,x,1.00,USD\n", 150))
		require.Equal(t, http.StatusBadRequest, many.Status, many.Raw)
		listed := many.Body["error"].(map[string]any)["errors"].([]any)
		require.Len(t, listed, 100)
		require.Equal(t, 150.0, many.Body["error"].(map[string]any)["error_count"], many.Raw)
		require.Equal(t, 101.0, listed[99].(map[string]any)["line"])
		nothing()

		// A player's first deposit on two days: a player has one.
		twice := e.uploadBatch(key, "text/csv", reconHeader+"2026-10-01,p1,,10.00,10.00,0,USD\n2026-10-02,p2,,5.00,5.00,0,USD\n2026-10-03,p1,,20.00,20.00,0,USD\n")
		require.Equal(t, http.StatusBadRequest, twice.Status, twice.Raw)
		require.Equal(t, map[string]any{"line": 4.0, "column": 4.0, "field": "first_deposit", "message": "player p1 also has a first deposit on line 2: a player has one first deposit"},
			twice.Body["error"].(map[string]any)["errors"].([]any)[0], twice.Raw)
		nothing()

		// A body cut off mid-way. The client gives up before the server has read the cut, so wait for the
		// server to finish with it (its audit row is written before it answers), then for its staging to go.
		audited := func() int64 { return e.count(&store.AuditRecord{}, "path = ?", "/v1/reconciliation/batches") }
		auditedBefore := audited()
		body := io.MultiReader(strings.NewReader(reconHeader+strings.Repeat("2026-10-01,p1,,,10.00,1.00,USD\n", 1)), &cutOff{strings.NewReader("2026-10-02,p")})
		req, err := http.NewRequest("POST", e.base+"/v1/reconciliation/batches", body)
		require.NoError(t, err)
		req.Header.Set("X-API-Key", key)
		req.Header.Set("Content-Type", "text/csv")
		if resp, err := http.DefaultClient.Do(req); err == nil {
			resp.Body.Close()
			require.NotEqual(t, http.StatusAccepted, resp.StatusCode)
		}
		eventually(t, 10*time.Second, "the cut-off upload handled and its staging removed", func() bool {
			return audited() == auditedBefore+1 && e.count(&store.ReconciliationBatch{}, "1 = 1") == 0
		})
		nothing()

		// A gzip bomb: 10 MiB of zeros in a few KiB stops at the 1 MiB limit.
		var gz bytes.Buffer
		zw := gzip.NewWriter(&gz)
		_, _ = zw.Write([]byte(reconHeader))
		_, _ = zw.Write(bytes.Repeat([]byte("0"), 10<<20))
		require.NoError(t, zw.Close())
		bomb := e.do("POST", "/v1/reconciliation/batches", map[string]string{"X-API-Key": key, "Content-Type": "text/csv", "Content-Encoding": "gzip"}, &gz)
		require.Equal(t, http.StatusRequestEntityTooLarge, bomb.Status, bomb.Raw)
		nothing()

		// JSON with an error on a later line, and an unsupported type.
		js := e.uploadBatch(key, "application/json", "[\n{\"date\":\"2026-10-01\",\"player_id\":\"p1\",\"currency\":\"USD\",\"deposits\":\"1.00\"},\n{\"date\":\"2026-10-01\",\"player_id\":\"p2\",\"currency\":\"USD\",\"ngr\":\"1.5.0\"}\n]")
		require.Equal(t, http.StatusBadRequest, js.Status, js.Raw)
		require.Equal(t, 3.0, js.Body["error"].(map[string]any)["errors"].([]any)[0].(map[string]any)["line"])
		require.Equal(t, http.StatusUnsupportedMediaType, e.uploadBatch(key, "application/xml", "<x/>").Status)
		require.Equal(t, http.StatusUnauthorized, e.uploadBatch("ak_wrong", "text/csv", reconHeader).Status)
		nothing()

		// The integration's IP allowlist applies as for postbacks: 127.0.0.1 is outside it.
		allow := e.admin("PATCH", "/v1/admin/integrations/"+r.Body["id"].(string), map[string]any{"ip_allowlist": []string{"203.0.113.0/24"}})
		require.Equal(t, http.StatusOK, allow.Status, allow.Raw)
		outside := e.uploadBatch(key, "text/csv", reconHeader+"2026-10-01,p1,,,10.00,1.00,USD\n")
		require.Equal(t, http.StatusForbidden, outside.Status, outside.Raw)
		require.Contains(t, outside.Raw, "ip_not_allowed")
		nothing()
	}, func(c *config.Config) { c.Reconciliation.MaxFileBytes = 1 << 20 })
}

// A worker stopped mid-batch hands the rest to another worker; the batch ends on the same totals, each row
// processed once.
func TestReconciliationResumesAfterTheWorkerStops(t *testing.T) {
	forEachStore(t, shortPolicy(3), func(t *testing.T, e *testEnv) {
		m, aff := reconSetup(e)
		m.send("k-ftd", "ftd", aff, "k", "50.00", "USD", "10-01")

		// Many rows of players nobody attributed (flagged, nothing written) around corrections for known ones.
		const unknown = 3000
		var b strings.Builder
		b.WriteString(reconHeader)
		for i := range unknown {
			fmt.Fprintf(&b, "2026-10-%02d,u%06d,,,1.00,1.00,USD\n", 1+i%28, i)
		}
		for _, p := range []string{"a", "k", "z"} { // first, middle and last in (player, day) order
			fmt.Fprintf(&b, "2026-10-01,%s,%s,50.00,50.00,100.00,USD\n", p, aff)
		}
		// The worker is held after its first chunk until it is told to stop, so it stops mid-batch whatever the
		// machine's speed.
		firstChunk := make(chan struct{})
		var once sync.Once
		e.app.StopWorker()
		e.app.HoldReconciliation(func(ctx context.Context) {
			once.Do(func() {
				close(firstChunk)
				<-activity.GetWorkerStopChannel(ctx)
			})
		})
		require.NoError(t, e.app.StartWorker())
		up := e.uploadBatch(m.key, "text/csv", b.String())
		require.Equal(t, http.StatusAccepted, up.Status, up.Raw)
		batchID := up.Body["batch_id"].(string)
		<-firstChunk
		e.app.StopWorker()
		e.app.HoldReconciliation(nil)
		// Chunks applied at once (PostgreSQL) end too, each held after it commits: whole chunks, at most that many.
		processed := e.count(&store.ReconciliationRow{}, "batch_id = ? AND processed = ?", batchID, true)
		require.Zero(t, processed%resumeChunkRows, "whole chunks processed")
		require.GreaterOrEqual(t, processed, int64(resumeChunkRows))
		require.LessOrEqual(t, processed, int64(e.app.Config.Reconciliation.ParallelChunks*resumeChunkRows))

		// A new worker takes over; on SQLite it must be this process's, which holds the database's one writer.
		require.NoError(t, e.app.StartWorker())
		rep := e.batchDone(m.key, batchID)
		counts := rep.Body["counts"].(map[string]any)
		require.Equal(t, float64(unknown), counts["unknown_players"], rep.Raw)
		require.Equal(t, 2.0, counts["missing_in_realtime"], rep.Raw) // a and z: new players of aff
		require.Equal(t, 1.0, counts["corrected"], rep.Raw)           // k: the NGR
		sum, _ := m.ledgerCents(aff)
		require.Equal(t, int64(3*20000+commission.Percent(3*10000, 2500)), sum)
		require.EqualValues(t, 1+2*2+1, e.count(&store.Conversion{}, "integration_id = ?", m.integrationID))
		// The chunks recorded cover every row once: the new worker passed over those committed after the heartbeat.
		var chunked int64
		require.NoError(t, e.app.Store.DB.Model(&store.ReconciliationChunk{}).Select("COALESCE(SUM(rows), 0)").Where("batch_id = ?", batchID).Scan(&chunked).Error)
		require.EqualValues(t, unknown+3, chunked)
	}, func(c *config.Config) { c.Reconciliation.ChunkRows = resumeChunkRows })
}

// resumeChunkRows is the resume test's chunk size: its batch is 31 chunks.
const resumeChunkRows = 100

// operatorAPI stands in for an operator's reporting endpoint: one player-day of NGR 4.00 per day asked for,
// behind a key header.
func operatorAPI(t *testing.T, affiliateID string) *httptest.Server {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("X-Operator-Key") != "op-secret-123" {
			w.WriteHeader(http.StatusUnauthorized)
			return
		}
		day := r.URL.Query().Get("day")
		w.Header().Set("Content-Type", "text/csv")
		fmt.Fprintf(w, "%s%s,pull-player,%s,,0,4.00,USD\n", reconHeader, day, affiliateID)
	}))
	t.Cleanup(srv.Close)
	return srv
}

func TestReconciliationScheduledPull(t *testing.T) {
	forEachStore(t, shortPolicy(3), func(t *testing.T, e *testEnv) {
		m, aff := reconSetup(e)
		op := operatorAPI(t, aff)
		base := "/v1/admin/integrations/" + m.integrationID + "/reconciliation/"
		r := e.admin("PUT", base+"pull-settings", map[string]any{
			"url_template": op.URL + "/revenue?day={date}", "auth_header": "X-Operator-Key", "auth_value": "op-secret-123",
			"cron": "0 3 * * *", "time_zone": "Europe/Malta",
		})
		require.Equal(t, http.StatusOK, r.Status, r.Raw)
		require.Equal(t, true, r.Body["auth_value_set"])
		require.NotContains(t, r.Raw, "op-secret-123")
		bad := e.admin("PUT", base+"pull-settings", map[string]any{"url_template": op.URL + "/revenue", "cron": "0 3 * * *"})
		require.Equal(t, http.StatusBadRequest, bad.Status, bad.Raw)

		completed := func(day string) bool {
			return e.count(&store.ReconciliationBatch{}, "integration_id = ? AND source = ? AND first_day = ? AND status = ?",
				m.integrationID, "pull", day, store.BatchCompleted) == 1
		}
		// The Schedule, triggered through its handle, pulls the UTC day before the run.
		ctx := context.Background()
		h := e.app.Temporal.ScheduleClient().GetHandle(ctx, "reconciliation-pull:"+m.integrationID)
		desc, err := h.Describe(ctx)
		require.NoError(t, err)
		require.Equal(t, "Europe/Malta", desc.Schedule.Spec.TimeZoneName)
		require.NoError(t, h.Trigger(ctx, client.ScheduleTriggerOptions{}))
		yesterday := time.Now().UTC().AddDate(0, 0, -1).Format(time.DateOnly)
		eventually(t, 60*time.Second, "yesterday pulled and reconciled", func() bool { return completed(yesterday) })

		// The Schedule's own backfill (the Temporal UI's): each run pulls the day before the time it was due,
		// 03:00 in Malta being 01:00 UTC.
		malta, err := time.LoadLocation("Europe/Malta")
		require.NoError(t, err)
		require.NoError(t, h.Backfill(ctx, client.ScheduleBackfillOptions{Backfill: []client.ScheduleBackfill{{
			Start: time.Date(2026, 9, 10, 0, 0, 0, 0, malta), End: time.Date(2026, 9, 11, 12, 0, 0, 0, malta),
			Overlap: enumspb.SCHEDULE_OVERLAP_POLICY_ALLOW_ALL,
		}}}))
		for _, day := range []string{"2026-09-09", "2026-09-10"} {
			eventually(t, 60*time.Second, day+" backfilled by the Schedule", func() bool { return completed(day) })
		}

		// A backfill of three days: one workflow per day; again, nothing new.
		bf := e.admin("POST", base+"pull", map[string]any{"from": "2026-10-01", "to": "2026-10-03"})
		require.Equal(t, http.StatusAccepted, bf.Status, bf.Raw)
		require.Len(t, bf.Body["workflows"], 3, bf.Raw)
		for _, day := range []string{"2026-10-01", "2026-10-02", "2026-10-03"} {
			eventually(t, 60*time.Second, day+" pulled and reconciled", func() bool { return completed(day) })
		}
		again := e.admin("POST", base+"pull", map[string]any{"from": "2026-10-01", "to": "2026-10-03"})
		require.Equal(t, http.StatusAccepted, again.Status, again.Raw)
		require.Equal(t, "duplicate", again.Body["workflows"].([]any)[2].(map[string]any)["status"], again.Raw)

		// 25% of 4.00 for each of the six days pulled.
		sum, _ := m.ledgerCents(aff)
		require.EqualValues(t, 6*100, sum)
		require.NotContains(t, e.logs.String(), "op-secret-123", "the auth value is never logged")
	})
}

// A pull whose operator endpoint keeps failing gives up after reconciliation.pull_attempts: the day has a
// failed batch, and ops.reconciliation_pull_failed reaches the subscriber, signed, once, without the secrets.
func TestReconciliationPullFailureAlertsOps(t *testing.T) {
	forEachStore(t, shortPolicy(3), func(t *testing.T, e *testEnv) {
		hooks := newWebhookReceiver(t, always(200))
		_, hookSecret := e.subscribe("webhook", hooks.srv.URL+"/ops", webhook.ReconciliationPullFailed)
		m, _ := reconSetup(e)
		var calls atomic.Int32
		op := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			calls.Add(1)
			http.Error(w, "report database down", http.StatusInternalServerError)
		}))
		t.Cleanup(op.Close)
		base := "/v1/admin/integrations/" + m.integrationID + "/reconciliation/"
		r := e.admin("PUT", base+"pull-settings", map[string]any{
			"url_template": op.URL + "/revenue?day={date}&token=query-secret-456", "auth_header": "X-Operator-Key",
			"auth_value": "op-secret-123", "cron": "0 3 * * *",
		})
		require.Equal(t, http.StatusOK, r.Status, r.Raw)
		bf := e.admin("POST", base+"pull", map[string]any{"from": "2026-10-01", "to": "2026-10-01"})
		require.Equal(t, http.StatusAccepted, bf.Status, bf.Raw)

		eventually(t, 60*time.Second, "ops.reconciliation_pull_failed delivered", func() bool {
			return len(hooks.ofType(webhook.ReconciliationPullFailed)) > 0
		})
		got := hooks.ofType(webhook.ReconciliationPullFailed)[0]
		require.NoError(t, verify(t, hookSecret, got))
		d := data(t, got)
		require.Equal(t, m.integrationID, d["integration_id"])
		require.Equal(t, "2026-10-01", d["day"])
		require.Equal(t, 3.0, d["attempts"])
		require.Equal(t, bf.Body["workflows"].([]any)[0].(map[string]any)["workflow_id"], d["workflow_id"])
		require.Contains(t, d["error"], "the operator answered 500 Internal Server Error")
		require.NotContains(t, string(got.Body), "secret", "neither the auth value nor the URL's query is sent")
		require.EqualValues(t, 3, calls.Load())

		// The failed batch, as the integration sees it.
		rep := e.do("GET", "/v1/reconciliation/batches/"+d["batch_id"].(string), map[string]string{"X-API-Key": m.key}, nil)
		require.Equal(t, http.StatusOK, rep.Status, rep.Raw)
		require.Equal(t, store.BatchFailed, rep.Body["status"], rep.Raw)
		require.Equal(t, "2026-10-01", rep.Body["first_day"], rep.Raw)
		require.Equal(t, d["error"], rep.Body["error"], rep.Raw)
		require.EqualValues(t, 1, e.count(&store.ReconciliationBatch{}, "integration_id = ?", m.integrationID))
		require.Len(t, hooks.ofType(webhook.ReconciliationPullFailed), 1, "one event per failed pull")
		require.NotContains(t, e.logs.String(), "op-secret-123", "the auth value is never logged")
	}, func(c *config.Config) {
		c.Reconciliation.PullAttempts, c.Reconciliation.PullBackoff = 3, 100*time.Millisecond
	})
}

// A signed upload streams into staging while its signature is computed: a wrong signature (or none) answers
// 401 and leaves nothing, even for a file that also has row errors; the right one is accepted and reconciled.
func TestReconciliationSignedUploadStreams(t *testing.T) {
	forEachStore(t, shortPolicy(3), func(t *testing.T, e *testEnv) {
		m, aff := reconSetup(e)
		r := e.admin("POST", "/v1/admin/integrations/"+m.integrationID+"/secrets", nil)
		require.Equal(t, http.StatusCreated, r.Status, r.Raw)
		secret := r.Body["secret"].(string)
		file := reconFile(aff, "240.00")
		upload := func(body string, signature map[string]string) response {
			t.Helper()
			return e.do("POST", "/v1/reconciliation/batches", withHeaders(map[string]string{"X-API-Key": m.key, "Content-Type": "text/csv"}, signature), strings.NewReader(body))
		}
		nothing := func() {
			t.Helper()
			require.EqualValues(t, 0, e.count(&store.ReconciliationBatch{}, "integration_id = ?", m.integrationID))
			require.EqualValues(t, 0, e.count(&store.ReconciliationRow{}, "1 = 1"))
		}
		code := func(r response) string { return r.Body["error"].(map[string]any)["code"].(string) }

		unsigned := upload(file, nil)
		require.Equal(t, http.StatusUnauthorized, unsigned.Status, unsigned.Raw)
		require.Equal(t, "missing_signature", code(unsigned))
		tampered := upload(file, swHeaders(t, secret, "msg_1", time.Now(), strings.Replace(file, "240.00", "999.00", 1)))
		require.Equal(t, http.StatusUnauthorized, tampered.Status, tampered.Raw)
		require.Equal(t, "invalid_signature", code(tampered))
		badRows := reconHeader + "2026-10-41,p1,,,1.00,1.00,USD\n"
		badBoth := upload(badRows, swHeaders(t, secret, "msg_2", time.Now(), file))
		require.Equal(t, http.StatusUnauthorized, badBoth.Status, badBoth.Raw)
		nothing()

		// Signed right, gzip-compressed: the signature covers the bytes sent.
		var gz bytes.Buffer
		zw := gzip.NewWriter(&gz)
		_, _ = zw.Write([]byte(file))
		require.NoError(t, zw.Close())
		signed := withHeaders(swHeaders(t, secret, "msg_3", time.Now(), gz.String()), map[string]string{"Content-Encoding": "gzip"})
		ok := upload(gz.String(), signed)
		require.Equal(t, http.StatusAccepted, ok.Status, ok.Raw)
		rep := e.batchDone(m.key, ok.Body["batch_id"].(string))
		require.Equal(t, 7.0, rep.Body["counts"].(map[string]any)["rows"], rep.Raw)
	})
}

// The report's commission delta is everything the corrections moved on the ledger, the parent's
// sub-affiliate share included.
func TestReconciliationCommissionDeltaIncludesParentShare(t *testing.T) {
	forEachStore(t, shortPolicy(3), func(t *testing.T, e *testEnv) {
		m, parent := reconSetup(e)
		child := m.createAffiliate("Recon child", map[string]any{
			"type": "revshare", "currency": "USD", "tier_mode": "tiered", "tiers": []map[string]any{{"from": "0", "rate": "40"}},
		}, map[string]any{"affiliate_id": parent, "share": "10"})
		m.send("c1-r01", "revenue", child, "c1", "100.00", "USD", "10-01")
		total := func() int64 {
			a, _ := m.ledgerCents(child)
			b, _ := m.ledgerCents(parent)
			return a + b
		}
		before := total()
		up := e.uploadBatch(m.key, "text/csv", reconHeader+"2026-10-01,c1,,,0,150.00,USD\n")
		require.Equal(t, http.StatusAccepted, up.Status, up.Raw)
		rep := e.batchDone(m.key, up.Body["batch_id"].(string))
		moved := total() - before
		require.EqualValues(t, 2000+200, moved) // 40% of 50.00 to the child, 10% of that to the parent
		require.Equal(t, commissionString(moved), rep.Body["currencies"].([]any)[0].(map[string]any)["commission_delta"], rep.Raw)
	})
}

// cpaMinFirstDeposit is a plan paying 150.00 for a first deposit of at least 100.00.
var cpaMinFirstDeposit = map[string]any{"type": "cpa", "amount": "150.00", "currency": "USD", "qualification": map[string]any{"min_first_deposit": "100.00"}}

// A file that restates first deposits across a CPA's minimum: one ftd adjustment per player-day, which pays the
// CPA the new amount earns and claws back the one it no longer earns; a further restatement that keeps the
// qualification moves nothing.
func TestReconciliationRestatedFirstDepositCrossesTheCPAMinimum(t *testing.T) {
	forEachStore(t, shortPolicy(3), func(t *testing.T, e *testEnv) {
		m, _ := reconSetup(e)
		aff := m.createAffiliate("Recon CPA", cpaMinFirstDeposit, nil)
		m.send("q1-ftd", "ftd", aff, "q1", "80.00", "USD", "10-01")
		m.send("q2-ftd", "ftd", aff, "q2", "120.00", "USD", "10-02")
		before, _ := m.ledgerCents(aff)
		require.EqualValues(t, 15000, before, "q2's CPA only")

		file := func(q1 string) string {
			return reconHeader + "2026-10-01,q1,," + q1 + "," + q1 + ",0,USD\n" + "2026-10-02,q2,,90.00,90.00,0,USD\n"
		}
		up := e.uploadBatch(m.key, "text/csv", file("110.00"))
		require.Equal(t, http.StatusAccepted, up.Status, up.Raw)
		rep := e.batchDone(m.key, up.Body["batch_id"].(string))
		require.Equal(t, 2.0, rep.Body["counts"].(map[string]any)["corrected"], rep.Raw)
		after, _ := m.ledgerCents(aff)
		require.EqualValues(t, 15000+15000-15000, after, "q1 earns its CPA, q2's is clawed back")
		kinds := func(player string) []string {
			var k []string
			require.NoError(t, e.app.Store.DB.Model(&store.LedgerEntry{}).Where("affiliate_id = ? AND player_id = ?", aff, player).
				Order("kind").Pluck("kind", &k).Error)
			return k
		}
		require.Equal(t, []string{commission.KindCPA}, kinds("q1"))
		require.Equal(t, []string{commission.KindCPA, commission.KindCPAClawback}, kinds("q2"))
		// One adjustment per restated first deposit; no deposit correction (the deposits moved by the difference).
		require.EqualValues(t, 2, e.count(&store.Conversion{}, "integration_id = ? AND event = ?", m.integrationID, "ftd_adjustment"))
		require.EqualValues(t, 0, e.count(&store.Conversion{}, "integration_id = ? AND event = ?", m.integrationID, "deposit"))
		require.Equal(t, commissionString(after-before), rep.Body["currencies"].([]any)[0].(map[string]any)["commission_delta"], rep.Raw)

		// Restated again: q1's first deposit is 130.00 (still qualified), q2's unchanged.
		up2 := e.uploadBatch(m.key, "text/csv", file("130.00"))
		require.Equal(t, http.StatusAccepted, up2.Status, up2.Raw)
		rep2 := e.batchDone(m.key, up2.Body["batch_id"].(string))
		require.Equal(t, 1.0, rep2.Body["counts"].(map[string]any)["corrected"], rep2.Raw)
		require.Equal(t, 1.0, rep2.Body["counts"].(map[string]any)["matched"], rep2.Raw)
		restated, _ := m.ledgerCents(aff)
		require.Equal(t, after, restated)
		require.EqualValues(t, 3, e.count(&store.Conversion{}, "integration_id = ? AND event = ?", m.integrationID, "ftd_adjustment"))

		// The performance report counts the first deposits at their restated amounts: 130.00 + 90.00.
		perf := e.admin("GET", "/v1/admin/affiliates/"+aff+"/performance?from=2026-10-01&to=2026-11-01&group_by=month", nil)
		require.Equal(t, http.StatusOK, perf.Status, perf.Raw)
		total := perf.Body["total"].(map[string]any)
		require.Equal(t, 2.0, total["ftds"], perf.Raw)
		money := total["currencies"].([]any)[0].(map[string]any)
		require.Equal(t, "220.00", money["ftd_amount"], perf.Raw)
		require.Equal(t, "220.00", money["deposit_amount"], perf.Raw)
	})
}

// A file that takes a first deposit below the CPA's minimum claws the CPA back; a later file that raises it
// again pays it again (its own entry, under the next key of the player's CPAs), so file 1 then file 2 leaves
// the ledger file 2 alone leaves. Affiliate "both" gets the two files, "alone" (the same real time) file 2
// only. Resetting file 2's workflow and uploading it again write nothing.
func TestReconciliationRequalifiedCPAEqualsTheLastFileAlone(t *testing.T) {
	forEachStore(t, shortPolicy(3), func(t *testing.T, e *testEnv) {
		m, _ := reconSetup(e)
		both, alone := m.createAffiliate("Recon both", cpaMinFirstDeposit, nil), m.createAffiliate("Recon alone", cpaMinFirstDeposit, nil)
		m.send("b-ftd", "ftd", both, "pb", "120.00", "USD", "10-01")
		m.send("a-ftd", "ftd", alone, "pa", "120.00", "USD", "10-01")
		for _, aff := range []string{both, alone} {
			cents, _ := m.ledgerCents(aff)
			require.EqualValues(t, 15000, cents, "real time's CPA")
		}
		row := func(player, ftd string) string { return "2026-10-01," + player + ",," + ftd + "," + ftd + ",0,USD\n" }

		up1 := e.uploadBatch(m.key, "text/csv", reconHeader+row("pb", "90.00"))
		require.Equal(t, http.StatusAccepted, up1.Status, up1.Raw)
		e.batchDone(m.key, up1.Body["batch_id"].(string))
		clawed, _ := m.ledgerCents(both)
		require.EqualValues(t, 0, clawed, "90.00 is below the minimum: clawed back")

		file2 := reconHeader + row("pb", "130.00") + row("pa", "130.00")
		up2 := e.uploadBatch(m.key, "text/csv", file2)
		require.Equal(t, http.StatusAccepted, up2.Status, up2.Raw)
		rep := e.batchDone(m.key, up2.Body["batch_id"].(string))
		require.Equal(t, 2.0, rep.Body["counts"].(map[string]any)["corrected"], rep.Raw)
		require.Equal(t, "150.00", rep.Body["currencies"].([]any)[0].(map[string]any)["commission_delta"], rep.Raw, "pb's CPA paid again; pa's unchanged")

		kinds := func(aff string) []string {
			var k []string
			require.NoError(t, e.app.Store.DB.Model(&store.LedgerEntry{}).Where("affiliate_id = ?", aff).Order("kind").Pluck("kind", &k).Error)
			return k
		}
		requireSameLedger := func() {
			t.Helper()
			b, _ := m.ledgerCents(both)
			a, _ := m.ledgerCents(alone)
			require.EqualValues(t, 15000, a)
			require.Equal(t, a, b, "file 1 then file 2 = file 2 alone")
			require.Equal(t, []string{commission.KindCPA, commission.KindCPA, commission.KindCPAClawback}, kinds(both))
			require.Equal(t, []string{commission.KindCPA}, kinds(alone))
			for _, aff := range []string{both, alone} {
				perf := e.admin("GET", "/v1/admin/affiliates/"+aff+"/performance?from=2026-10-01&to=2026-11-01&group_by=month", nil)
				require.Equal(t, http.StatusOK, perf.Status, perf.Raw)
				require.Equal(t, 1.0, perf.Body["total"].(map[string]any)["qualified_cpas"], perf.Raw)
			}
		}
		requireSameLedger()
		conversions := e.count(&store.Conversion{}, "integration_id = ?", m.integrationID)

		resetToFirstTask[workflows.ReconciliationResult](t, e, up2.Body["workflow_id"].(string))
		again := e.uploadBatch(m.key, "text/csv", file2)
		require.Equal(t, http.StatusOK, again.Status, again.Raw)
		require.Equal(t, "duplicate", again.Body["status"], again.Raw)
		requireSameLedger()
		require.Equal(t, conversions, e.count(&store.Conversion{}, "integration_id = ?", m.integrationID))
	})
}

// A file that places the first deposit on another day than real time moves it there: the first deposit
// stands at the file's amount (the CPA's minimum sees it), the money real time recorded on its day stays that
// day's deposit, and a later file that moves it back ends where that file alone would.
func TestReconciliationFirstDepositMovedToAnotherDay(t *testing.T) {
	forEachStore(t, shortPolicy(3), func(t *testing.T, e *testEnv) {
		m, _ := reconSetup(e)
		aff := m.createAffiliate("Recon moved", cpaMinFirstDeposit, nil)
		m.send("mv-ftd", "ftd", aff, "mv", "80.00", "USD", "10-01")
		moved := reconHeader + "2026-10-01,mv,,,80.00,0,USD\n" + "2026-10-03,mv,,120.00,120.00,0,USD\n"
		up := e.uploadBatch(m.key, "text/csv", moved)
		require.Equal(t, http.StatusAccepted, up.Status, up.Raw)
		rep := e.batchDone(m.key, up.Body["batch_id"].(string))
		counts := rep.Body["counts"].(map[string]any)
		require.Equal(t, 1.0, counts["matched"], rep.Raw)
		require.Equal(t, 1.0, counts["missing_in_realtime"], rep.Raw)
		cents, _ := m.ledgerCents(aff)
		require.EqualValues(t, 15000, cents, "the first deposit is 120.00 now: the CPA is paid")
		type conv struct {
			Event       string
			AmountMinor int64
			OccurredAt  time.Time
		}
		var convs []conv
		require.NoError(t, e.app.Store.DB.Model(&store.Conversion{}).Where("integration_id = ? AND player_id = ?", m.integrationID, "mv").
			Order("occurred_at, event").Select("event, amount_minor, occurred_at").Scan(&convs).Error)
		require.Len(t, convs, 3, "%+v", convs)
		require.Equal(t, "ftd", convs[0].Event)
		require.Equal(t, []any{"deposit", int64(8000), "2026-10-03"}, []any{convs[1].Event, convs[1].AmountMinor, convs[1].OccurredAt.UTC().Format(time.DateOnly)})
		require.Equal(t, []any{"ftd_adjustment", int64(4000), "2026-10-03"}, []any{convs[2].Event, convs[2].AmountMinor, convs[2].OccurredAt.UTC().Format(time.DateOnly)})

		// The same days again, the first deposit back on 10-01 at 80.00: the CPA is clawed back, as the file alone
		// (nothing moved, 10-03 a deposit) leaves no CPA.
		back := reconHeader + "2026-10-01,mv,,80.00,80.00,0,USD\n" + "2026-10-03,mv,,,120.00,0,USD\n"
		up2 := e.uploadBatch(m.key, "text/csv", back)
		require.Equal(t, http.StatusAccepted, up2.Status, up2.Raw)
		rep2 := e.batchDone(m.key, up2.Body["batch_id"].(string))
		require.Equal(t, "-150.00", rep2.Body["currencies"].([]any)[0].(map[string]any)["commission_delta"], rep2.Raw)
		cents, _ = m.ledgerCents(aff)
		require.EqualValues(t, 0, cents)
		// Moved there again by a third file: paid again, under the player's next CPA key.
		up3 := e.uploadBatch(m.key, "text/csv", moved+"2026-10-04,mv,,,0,0,USD\n")
		require.Equal(t, http.StatusAccepted, up3.Status, up3.Raw)
		e.batchDone(m.key, up3.Body["batch_id"].(string))
		cents, _ = m.ledgerCents(aff)
		require.EqualValues(t, 15000, cents)
	})
}

// A batch accepted by a process that died before starting its workflow stays processing with no workflow:
// the same content again, uploaded or pulled, starts it (and it completes) instead of answering duplicate
// over a batch nothing will ever process.
func TestReconciliationAcceptedBatchWithoutWorkflowStartsOnDuplicate(t *testing.T) {
	forEachStore(t, shortPolicy(3), func(t *testing.T, e *testEnv) {
		m, aff := reconSetup(e)
		ctx := context.Background()
		acceptOnly := func(source, body string) store.ReconciliationBatch {
			b, dup, err := activities.StageFile(ctx, e.app.Store, activities.StageFileInput{
				IntegrationID: m.integrationID, Body: strings.NewReader(body), ContentType: "text/csv", Source: source, MaxBytes: 1 << 20,
				WorkflowID: func(sha string) string { return activities.BatchWorkflowID(m.integrationID, sha) },
			})
			require.NoError(t, err)
			require.False(t, dup)
			require.Equal(t, store.BatchProcessing, b.Status)
			return b
		}

		uploaded := reconHeader + "2026-10-01,dup-player," + aff + ",,0,8.00,USD\n"
		b := acceptOnly("upload", uploaded)
		again := e.uploadBatch(m.key, "text/csv", uploaded)
		require.Equal(t, http.StatusOK, again.Status, again.Raw)
		require.Equal(t, "duplicate", again.Body["status"], again.Raw)
		require.Equal(t, b.ID, again.Body["batch_id"], again.Raw)
		e.batchDone(m.key, b.ID)

		op := operatorAPI(t, aff)
		base := "/v1/admin/integrations/" + m.integrationID + "/reconciliation/"
		r := e.admin("PUT", base+"pull-settings", map[string]any{
			"url_template": op.URL + "/revenue?day={date}", "auth_header": "X-Operator-Key", "auth_value": "op-secret-123", "cron": "0 3 * * *",
		})
		require.Equal(t, http.StatusOK, r.Status, r.Raw)
		pulled := acceptOnly("pull", reconHeader+"2026-10-02,pull-player,"+aff+",,0,4.00,USD\n")
		bf := e.admin("POST", base+"pull", map[string]any{"from": "2026-10-02", "to": "2026-10-02"})
		require.Equal(t, http.StatusAccepted, bf.Status, bf.Raw)
		e.batchDone(m.key, pulled.ID)
		require.EqualValues(t, 2, e.count(&store.ReconciliationBatch{}, "integration_id = ?", m.integrationID), "no second batch")
		sum, _ := m.ledgerCents(aff)
		require.EqualValues(t, 200+100, sum, "25% of 8.00 and of 4.00")
	})
}

// Under a cumulative rule, a file whose deposits qualify the player pays the CPA; a later file showing less
// claws it back (file 2 alone would pay none), and a third showing enough again pays it again.
func TestReconciliationDepositRestatementsFollowTheCumulativeRule(t *testing.T) {
	forEachStore(t, shortPolicy(3), func(t *testing.T, e *testEnv) {
		m, _ := reconSetup(e)
		aff := m.createAffiliate("Recon cumulative", map[string]any{
			"type": "cpa", "amount": "150.00", "currency": "USD", "qualification": map[string]any{"cumulative_deposit": "100.00", "window_days": 30},
		}, nil)
		m.send("cu-ftd", "ftd", aff, "cu", "60.00", "USD", "10-01")
		for i, step := range []struct {
			deposits string
			ledger   int64
		}{{"110.00", 15000}, {"60.00", 0}, {"100.00", 15000}} {
			up := e.uploadBatch(m.key, "text/csv", reconHeader+"2026-10-01,cu,,60.00,"+step.deposits+",0,USD\n")
			require.Equal(t, http.StatusAccepted, up.Status, up.Raw)
			e.batchDone(m.key, up.Body["batch_id"].(string))
			cents, _ := m.ledgerCents(aff)
			require.EqualValues(t, step.ledger, cents, "after file %d (deposits %s)", i+1, step.deposits)
		}
	})
}

// A first deposit a file recorded, a later file withdrew and a third file shows again: recorded anew and paid
// again, as the third file alone would; the withdrawn one is no first deposit.
func TestReconciliationWithdrawnFirstDepositRecordedAgain(t *testing.T) {
	forEachStore(t, shortPolicy(3), func(t *testing.T, e *testEnv) {
		m, _ := reconSetup(e)
		aff := m.createAffiliate("Recon withdrawn", cpaMinFirstDeposit, nil)
		row := func(player, ftd, deposits string) string {
			return "2026-10-01," + player + "," + aff + "," + ftd + "," + deposits + ",0,USD\n"
		}
		for i, step := range []struct {
			file   string
			ledger int64
		}{
			{reconHeader + row("wd", "120.00", "120.00"), 15000},
			{reconHeader + row("wd", "", "0"), 0},
			{reconHeader + row("wd", "120.00", "120.00") + row("wd-alone", "120.00", "120.00"), 30000},
		} {
			up := e.uploadBatch(m.key, "text/csv", step.file)
			require.Equal(t, http.StatusAccepted, up.Status, up.Raw)
			e.batchDone(m.key, up.Body["batch_id"].(string))
			cents, _ := m.ledgerCents(aff)
			require.EqualValues(t, step.ledger, cents, "after file %d", i+1)
		}
		var ftds []string
		require.NoError(t, e.app.Store.DB.Model(&store.Conversion{}).Where("integration_id = ? AND player_id = ? AND event = ?", m.integrationID, "wd", "ftd").
			Pluck("event_id", &ftds).Error)
		require.Len(t, ftds, 2, "recorded, withdrawn, recorded anew")
	})
}

// Rows a reconciliation cannot correct are reported and change nothing: a player real time never saw with no
// affiliate in the file (unknown), one whose file affiliate is not registered (unattributed), and a player-day
// real time recorded in another currency (currency mismatch).
func TestReconciliationReportsWhatItCannotCorrect(t *testing.T) {
	forEachStore(t, shortPolicy(3), func(t *testing.T, e *testEnv) {
		m, aff := reconSetup(e)
		fx := e.admin("POST", "/v1/admin/fx-rates", map[string]any{"base": "EUR", "quote": "USD", "rate": "1.08", "effective_from": "2026-09-01T00:00:00Z"})
		require.Equal(t, http.StatusCreated, fx.Status, fx.Raw)
		m.send("eur-rev", "revenue", aff, "eur-player", "10.00", "EUR", "10-01")
		before, entries := m.ledgerCents(aff)
		conversions := e.count(&store.Conversion{}, "integration_id = ?", m.integrationID)
		up := e.uploadBatch(m.key, "text/csv", reconHeader+
			"2026-10-01,nobody-knows,,10.00,10.00,5.00,USD\n"+
			"2026-10-01,stranger,aff_not_registered,10.00,10.00,5.00,USD\n"+
			"2026-10-01,eur-player,,,0,12.00,USD\n")
		require.Equal(t, http.StatusAccepted, up.Status, up.Raw)
		rep := e.batchDone(m.key, up.Body["batch_id"].(string))
		require.Equal(t, map[string]any{"rows": 3.0, "matched": 0.0, "corrected": 0.0, "missing_in_realtime": 0.0, "missing_in_file": 0.0,
			"unknown_players": 1.0, "unattributed": 1.0, "currency_mismatch": 1.0}, rep.Body["counts"], rep.Raw)
		for _, status := range []string{"unknown_player", "unattributed", "currency_mismatch"} {
			rows := e.do("GET", "/v1/reconciliation/batches/"+up.Body["batch_id"].(string)+"/rows?status="+status, map[string]string{"X-API-Key": m.key}, nil)
			require.Equal(t, http.StatusOK, rows.Status, rows.Raw)
			require.Len(t, rows.Body["rows"], 1, status+": "+rows.Raw)
		}
		after, afterEntries := m.ledgerCents(aff)
		require.Equal(t, []int64{before, entries}, []int64{after, afterEntries})
		require.Equal(t, conversions, e.count(&store.Conversion{}, "integration_id = ?", m.integrationID))
	})
}
