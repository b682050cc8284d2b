package e2e

import (
	"archive/zip"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	commonpb "go.temporal.io/api/common/v1"
	historypb "go.temporal.io/api/history/v1"
	"go.temporal.io/api/serviceerror"
	"go.temporal.io/api/workflowservice/v1"
	"go.temporal.io/sdk/client"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"

	"github.com/affrelay/affrelay/evidence"
	"github.com/affrelay/affrelay/opscli"
	"github.com/affrelay/affrelay/store"
	"github.com/affrelay/affrelay/workflows"
)

// testEvidenceKey signs the test apps' evidence bundles.
const testEvidenceKey = "ZTJlLWV2aWRlbmNlLXNpZ25pbmcta2V5LTAxMjM0NTY="

// evidenceBundle downloads an event's bundle and the public key, and returns the bundle verified, its files
// by name.
func (e *testEnv) evidenceBundle(integrationID, eventID string) ([]byte, []byte, evidence.Verification, map[string][]byte) {
	e.t.Helper()
	auth := map[string]string{"Authorization": "Bearer " + adminToken}
	started := time.Now()
	r := e.do("GET", "/v1/admin/conversions/"+integrationID+"/"+eventID+"/evidence", auth, nil)
	require.Equal(e.t, http.StatusOK, r.Status, r.Raw)
	e.t.Logf("bundle of %s: %d bytes, answered in %s", eventID, len(r.Raw), time.Since(started).Round(time.Millisecond))
	require.Equal(e.t, "application/zip", r.Header.Get("Content-Type"))
	require.Contains(e.t, r.Header.Get("Content-Disposition"), "attachment; filename=\"evidence-")
	key := e.do("GET", "/v1/admin/evidence/public-key", auth, nil)
	require.Equal(e.t, http.StatusOK, key.Status, key.Raw)
	pub, err := evidence.ParsePublicKey([]byte(key.Raw))
	require.NoError(e.t, err)
	require.Equal(e.t, evidence.Fingerprint(pub), key.Header.Get("X-Key-Fingerprint-Sha256"))

	bundle := []byte(r.Raw)
	v, err := evidence.Verify(bundle, pub)
	require.NoError(e.t, err)
	require.True(e.t, v.OK(), v.Problems)
	_, files := unzipAll(e.t, bundle)
	return bundle, []byte(key.Raw), v, files
}

// TestEvidenceBundle: the bundle of a conversion whose delivery failed, went to review, was redelivered and
// later re-fired lists every attempt and the re-fire, holds every workflow run's history as the Temporal CLI exports it and the audit rows,
// verifies with the public key and fails after one byte of any file changes; the CLI downloads and verifies
// it, and so do openssl and sha256sum as docs/operations.md shows.
func TestEvidenceBundle(t *testing.T) {
	forEachStore(t, shortPolicy(2), func(t *testing.T, e *testEnv) {
		tracker := newSink(t, always(http.StatusInternalServerError))
		key, integrationID, affiliateID := e.setup(tracker.srv.URL)
		id := e.inReview(key, affiliateID, "evt-evidence")
		tracker.setStatus(always(http.StatusOK))
		r := e.admin("POST", "/v1/admin/deliveries/"+id+"/redeliver", nil)
		require.Equal(t, http.StatusAccepted, r.Status, r.Raw)
		eventually(t, 30*time.Second, "delivered after the redeliver", func() bool {
			return e.deliveries("event_id=evt-evidence")[0]["status"] == "delivered"
		})

		// The affiliate says it lost it: a re-fire is a new run of the delivery's workflow.
		require.NoError(t, e.app.Temporal.GetWorkflow(context.Background(), workflows.DeliveryWorkflowID(id), "").Get(context.Background(), nil))
		r = e.admin("POST", "/v1/admin/deliveries/"+id+"/refire", map[string]any{"reason": "affiliate lost it"})
		require.Equal(t, http.StatusAccepted, r.Status, r.Raw)
		eventually(t, 30*time.Second, "delivered again after the re-fire", func() bool {
			d := e.deliveries("event_id=evt-evidence")[0]
			return d["status"] == "delivered" && len(d["attempts"].([]any)) == 4
		})

		// The listing shows each attempt's request as sent too.
		listed := e.deliveries("event_id=evt-evidence")[0]["attempts"].([]any)[0].(map[string]any)
		require.True(t, strings.HasPrefix(listed["url"].(string), tracker.srv.URL+"/pb?"), listed)
		require.Equal(t, []any{id}, listed["request_headers"].(map[string]any)["Idempotency-Key"])

		// The day's audit.checkpoint, which the audit proof ends at.
		checkpointRun := triggerSchedule(t, e, workflows.AuditCheckpointScheduleID(e.app.Config.Temporal.TaskQueue))
		require.NoError(t, e.app.Temporal.GetWorkflow(context.Background(), checkpointRun, "").Get(context.Background(), nil))
		require.EqualValues(t, 1, e.count(&store.AuditCheckpoint{}, "kind = ?", store.AuditCheckpointDaily))

		bundle, pemKey, v, files := e.evidenceBundle(integrationID, "evt-evidence")
		require.Equal(t, "evt-evidence", v.Manifest.EventID)
		for _, name := range []string{"request.json", "conversion.json", "ledger.json", "deliveries.json", "audit.json", "histories.json", "summary.html"} {
			require.Contains(t, files, name)
		}
		require.Empty(t, v.Manifest.Missing)
		require.GreaterOrEqual(t, v.Audit.Rows, 2, "the postback's and the redeliver's audit rows are proven on the chain")
		var checkpoint struct{ Seq int64 }
		require.NoError(t, json.Unmarshal(files[evidence.AuditPath], &struct {
			Checkpoint *struct{ Seq int64 } `json:"checkpoint"`
		}{&checkpoint}))
		require.Equal(t, checkpoint.Seq, v.Audit.To.Seq, "the proof ends at the daily checkpoint")
		require.Contains(t, string(files["summary.html"]), "audit checkpoint sent")

		// Every attempt, with the request as sent.
		var ds struct {
			Deliveries []struct {
				Delivery struct{ ID, Status string }
				Refires  []struct{ Reason string }
				Attempts []struct {
					Number      int
					StatusCode  int
					URL         string
					HeadersSent map[string][]string
				}
			}
		}
		require.NoError(t, json.Unmarshal(files["deliveries.json"], &ds))
		require.Len(t, ds.Deliveries, 1)
		require.Equal(t, "delivered", ds.Deliveries[0].Delivery.Status)
		require.Len(t, ds.Deliveries[0].Attempts, 4)
		require.Len(t, ds.Deliveries[0].Refires, 1)
		require.Equal(t, "affiliate lost it", ds.Deliveries[0].Refires[0].Reason)
		for i, want := range []int{500, 500, 200, 200} {
			a := ds.Deliveries[0].Attempts[i]
			require.Equal(t, i+1, a.Number)
			require.Equal(t, want, a.StatusCode)
			require.True(t, strings.HasPrefix(a.URL, tracker.srv.URL+"/pb?"), a.URL)
			require.Equal(t, []string{id}, a.HeadersSent["Idempotency-Key"])
			require.Equal(t, []string{"affrelay/1"}, a.HeadersSent["User-Agent"])
		}
		summary := string(files["summary.html"])
		require.Contains(t, summary, "delivery "+id+" re-fired")
		for _, n := range []string{"1", "2", "3", "4"} {
			require.Contains(t, summary, "attempt "+n+" of delivery "+id)
		}
		require.Contains(t, summary, "postback received")

		// The request as received and the ack.
		var req struct {
			Request  struct{ Method, Path string }
			Headers  map[string][]string `json:"headers"`
			Response struct {
				Status int    `json:"status"`
				Body   string `json:"body"`
			} `json:"response"`
		}
		require.NoError(t, json.Unmarshal(files["request.json"], &req))
		require.Equal(t, "/v1/postbacks", req.Request.Path)
		require.Equal(t, http.StatusOK, req.Response.Status)
		require.Contains(t, req.Response.Body, `"status":"accepted"`)
		require.NotContains(t, string(files["request.json"]), key, "the API key is redacted")

		// The ledger entry with its plan version and the facts its qualification saw.
		var ledger struct {
			Entries []struct {
				Entry                          struct{ Kind, PlanID string }
				Plan                           *struct{ ID string }       `json:"plan_version"`
				QualificationPlayerConversions []struct{ EventID string } `json:"qualification_player_conversions"`
			} `json:"entries"`
		}
		require.NoError(t, json.Unmarshal(files["ledger.json"], &ledger))
		require.Len(t, ledger.Entries, 1)
		require.Equal(t, "cpa", ledger.Entries[0].Entry.Kind)
		require.NotNil(t, ledger.Entries[0].Plan)
		require.Equal(t, ledger.Entries[0].Entry.PlanID, ledger.Entries[0].Plan.ID)
		require.Len(t, ledger.Entries[0].QualificationPlayerConversions, 1)

		// The audit rows: the postback and the operator's redeliver.
		var audit struct {
			Rows []struct {
				Method, Path string
				Status       int
			} `json:"rows"`
		}
		require.NoError(t, json.Unmarshal(files["audit.json"], &audit))
		var paths []string
		for _, row := range audit.Rows {
			paths = append(paths, row.Method+" "+row.Path)
		}
		require.Contains(t, paths, "GET /v1/postbacks")
		require.Contains(t, paths, "POST /v1/admin/deliveries/"+id+"/redeliver")
		require.Contains(t, paths, "POST /v1/admin/deliveries/"+id+"/refire")

		// Both workflows' histories, in the form the replayer and `temporal workflow show -o json` use.
		var index struct {
			Histories []struct {
				WorkflowID string `json:"workflow_id"`
				Path       string `json:"path"`
			} `json:"histories"`
		}
		require.NoError(t, json.Unmarshal(files["histories.json"], &index))
		exported := map[string]int{}
		for _, h := range index.Histories {
			if h.Path == "" {
				continue
			}
			exported[h.WorkflowID]++
			hist, err := client.HistoryFromJSON(bytes.NewReader(files[h.Path]), client.HistoryJSONOptions{})
			require.NoError(t, err, h.Path)
			require.NotEmpty(t, hist.Events)
		}
		require.Equal(t, 1, exported[workflows.ConversionWorkflowID(integrationID, "evt-evidence")], index)
		require.Equal(t, 2, exported[workflows.DeliveryWorkflowID(id)], "both runs of the delivery's workflow: %v", index)
		// The same history the Temporal CLI exports.
		for _, h := range index.Histories {
			if h.WorkflowID != workflows.ConversionWorkflowID(integrationID, "evt-evidence") {
				continue
			}
			cli, err := exec.Command(temporalPath, "workflow", "show", "--address", temporalAddr, "--namespace", e.app.Config.Temporal.Namespace,
				"-w", h.WorkflowID, "-o", "json").Output()
			require.NoError(t, err)
			var fromCLI, fromBundle historypb.History
			require.NoError(t, protojson.Unmarshal(cli, &fromCLI))
			require.NoError(t, protojson.Unmarshal(files[h.Path], &fromBundle))
			require.True(t, proto.Equal(&fromCLI, &fromBundle), "the bundle's history of %s is the CLI's", h.WorkflowID)
		}

		// One changed byte in any file fails the verification, naming the file.
		pub, err := evidence.ParsePublicKey(pemKey)
		require.NoError(t, err)
		for name := range files {
			tampered := rezipChanged(t, bundle, name)
			v, err := evidence.Verify(tampered, pub)
			require.NoError(t, err)
			require.False(t, v.OK(), name)
			require.Contains(t, strings.Join(v.Problems, "\n"), name)
		}

		// Unknown events are 404, another integration's too.
		auth := map[string]string{"Authorization": "Bearer " + adminToken}
		require.Equal(t, http.StatusNotFound, e.do("GET", "/v1/admin/conversions/"+integrationID+"/evt-nope/evidence", auth, nil).Status)
		require.Equal(t, http.StatusNotFound, e.do("GET", "/v1/admin/conversions/int_nope/evt-evidence/evidence", auth, nil).Status)
		require.Equal(t, http.StatusUnauthorized, e.do("GET", "/v1/admin/conversions/"+integrationID+"/evt-evidence/evidence", nil, nil).Status)

		// The CLI: download, verify, and refuse a changed copy; verifying needs no token.
		dir := t.TempDir()
		zipPath, keyPath := filepath.Join(dir, "bundle.zip"), filepath.Join(dir, "operator-evidence.pem")
		require.NoError(t, os.WriteFile(keyPath, pemKey, 0o600))
		out, err := e.ops("evidence", integrationID, "evt-evidence", "-o", zipPath)
		require.NoError(t, err, out)
		require.Contains(t, out, "wrote "+zipPath)
		out, err = offlineOps("evidence-verify", zipPath, "--public-key", keyPath)
		require.NoError(t, err, out)
		require.Contains(t, out, "verified: "+evidence.BundleFormat+" of event evt-evidence of integration "+integrationID)
		require.Contains(t, out, "rows are on the audit chain up to row")
		downloaded, err := os.ReadFile(zipPath)
		require.NoError(t, err)
		require.NoError(t, os.WriteFile(zipPath, rezipChanged(t, downloaded, "deliveries.json"), 0o600))
		out, err = offlineOps("evidence-verify", zipPath, "--public-key", keyPath)
		require.ErrorContains(t, err, "the bundle does NOT verify")
		require.ErrorContains(t, err, "deliveries.json: its SHA-256 is not the one in the manifest")
		out, err = e.ops("evidence", integrationID, "evt-nope", "-o", zipPath)
		require.ErrorContains(t, err, "404", out)

		verifyWithStandardTools(t, bundle, pemKey)
	})
}

// offlineOps runs an ops command with no API and no token, as an affiliate would.
func offlineOps(args ...string) (string, error) {
	var out bytes.Buffer
	err := opscli.Run(context.Background(), args, opscli.Env{Getenv: func(string) string { return "" }, Out: &out, Err: &out})
	return out.String(), err
}

// unzipAll returns an archive's file names in order and their contents.
func unzipAll(t testing.TB, bundle []byte) ([]string, map[string][]byte) {
	t.Helper()
	zr, err := zip.NewReader(bytes.NewReader(bundle), int64(len(bundle)))
	require.NoError(t, err)
	var names []string
	files := map[string][]byte{}
	for _, f := range zr.File {
		rc, err := f.Open()
		require.NoError(t, err)
		files[f.Name], err = io.ReadAll(rc)
		require.NoError(t, err)
		rc.Close()
		names = append(names, f.Name)
	}
	return names, files
}

// rezipChanged returns the bundle with the middle byte of one file changed.
func rezipChanged(t *testing.T, bundle []byte, name string) []byte {
	t.Helper()
	names, files := unzipAll(t, bundle)
	files[name][len(files[name])/2] ^= 0x01
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	for _, n := range names {
		w, err := zw.Create(n)
		require.NoError(t, err)
		_, err = w.Write(files[n])
		require.NoError(t, err)
	}
	require.NoError(t, zw.Close())
	return buf.Bytes()
}

// verifyWithStandardTools runs the commands docs/operations.md gives an affiliate without affrelay: openssl
// checks the manifest's signature, sha256sum every file. Skipped where the tools are not installed.
func verifyWithStandardTools(t *testing.T, bundle, pemKey []byte) {
	for _, tool := range []string{"openssl", "jq", "sha256sum", "sh"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Logf("%s is not installed: the documented openssl check is not run", tool)
			return
		}
	}
	dir := t.TempDir()
	_, files := unzipAll(t, bundle)
	for name, data := range files {
		require.NoError(t, os.MkdirAll(filepath.Join(dir, filepath.Dir(name)), 0o755))
		require.NoError(t, os.WriteFile(filepath.Join(dir, name), data, 0o600))
	}
	require.NoError(t, os.WriteFile(filepath.Join(dir, "operator-evidence.pem"), pemKey, 0o600))
	run := func(script string) (string, error) {
		cmd := exec.Command("sh", "-c", script)
		cmd.Dir = dir
		out, err := cmd.CombinedOutput()
		return string(out), err
	}
	// The commands as docs/operations.md gives them.
	const checkSignature = `openssl pkeyutl -verify -pubin -inkey operator-evidence.pem -rawin -in manifest.json -sigfile manifest.sig`
	const checkFiles = `jq -r '.files[] | "\(.sha256)  \(.path)"' manifest.json | sha256sum --strict -c -`
	out, err := run(checkSignature)
	require.NoError(t, err, out)
	require.Contains(t, out, "Signature Verified Successfully")
	out, err = run(checkFiles)
	require.NoError(t, err, out)
	require.Contains(t, out, "deliveries.json: OK")

	deliveries := filepath.Join(dir, "deliveries.json")
	data, err := os.ReadFile(deliveries)
	require.NoError(t, err)
	data[len(data)/2] ^= 0x01
	require.NoError(t, os.WriteFile(deliveries, data, 0o600))
	out, err = run(checkFiles)
	require.Error(t, err, out)
	require.Contains(t, out, "deliveries.json: FAILED")
	manifest := filepath.Join(dir, "manifest.json")
	data, err = os.ReadFile(manifest)
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(manifest, bytes.Replace(data, []byte(`"evt-evidence"`), []byte(`"evt-evidencf"`), 1), 0o600))
	out, err = run(checkSignature)
	require.Error(t, err, out)
	require.Contains(t, out, "Signature Verification Failure")
}

// TestEvidenceBundleWithoutHistories: when Temporal no longer has the conversion's and the delivery's
// workflows (deleted here, as retention would), the bundle still builds from the database, lists every
// attempt, and says in the manifest and the summary which histories are missing; so it does for a request
// that is no longer kept.
func TestEvidenceBundleWithoutHistories(t *testing.T) {
	forEachStore(t, shortPolicy(3), func(t *testing.T, e *testEnv) {
		tracker := newSink(t, func(n int) int {
			if n == 1 {
				return http.StatusServiceUnavailable
			}
			return http.StatusOK
		})
		key, integrationID, affiliateID := e.setup(tracker.srv.URL)
		require.Equal(t, "accepted", e.postback(key, ftd("evt-gone", affiliateID)).Body["status"])
		eventually(t, 30*time.Second, "delivered on the second attempt", func() bool {
			ds := e.deliveries("event_id=evt-gone")
			return len(ds) == 1 && ds[0]["status"] == "delivered"
		})
		id := e.deliveries("event_id=evt-gone")[0]["id"].(string)
		conversionWF, deliveryWF := workflows.ConversionWorkflowID(integrationID, "evt-gone"), workflows.DeliveryWorkflowID(id)
		ctx := context.Background()
		for _, wf := range []string{deliveryWF, conversionWF} {
			require.NoError(t, e.app.Temporal.GetWorkflow(ctx, wf, "").Get(ctx, nil), wf)
			_, err := e.app.Temporal.WorkflowService().DeleteWorkflowExecution(ctx, &workflowservice.DeleteWorkflowExecutionRequest{
				Namespace: e.app.Config.Temporal.Namespace, WorkflowExecution: &commonpb.WorkflowExecution{WorkflowId: wf},
			})
			require.NoError(t, err, wf)
			eventually(t, 30*time.Second, wf+" deleted", func() bool {
				_, err := e.app.Temporal.DescribeWorkflowExecution(ctx, wf, "")
				var notFound *serviceerror.NotFound
				return errors.As(err, &notFound)
			})
		}

		_, _, v, files := e.evidenceBundle(integrationID, "evt-gone")
		require.Positive(t, v.Audit.Rows)
		var missing []string
		for _, m := range v.Manifest.Missing {
			missing = append(missing, m.Item)
		}
		require.Contains(t, missing, "workflow history "+conversionWF)
		require.Contains(t, missing, "workflow history "+deliveryWF)
		require.Contains(t, missing, "audit checkpoint", "no daily checkpoint was sent: the proof ends at the chain's head, and the bundle says so")
		summary := string(files["summary.html"])
		require.Contains(t, summary, "workflow history "+conversionWF)
		require.Contains(t, summary, "Temporal no longer retains it")
		for name := range files {
			require.False(t, strings.HasPrefix(name, "histories/"), name)
		}
		require.Contains(t, summary, "attempt 1 of delivery "+id)
		require.Contains(t, summary, "attempt 2 of delivery "+id)

		// A request deleted after its retention is said to be missing too.
		n, err := e.app.Conversions.PruneReceivedRequests(ctx, time.Now().Add(time.Hour))
		require.NoError(t, err)
		require.EqualValues(t, 1, n)
		_, _, v, files = e.evidenceBundle(integrationID, "evt-gone")
		require.NotContains(t, files, "request.json")
		require.Equal(t, "request.json", v.Manifest.Missing[0].Item)
		require.Contains(t, string(files["summary.html"]), "evidence.request_retention")
	})
}
