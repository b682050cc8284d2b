package e2e

import (
	"encoding/hex"
	"io"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	collectorpb "go.opentelemetry.io/proto/otlp/collector/trace/v1"
	"google.golang.org/protobuf/proto"

	"github.com/affrelay/affrelay/config"
	"github.com/affrelay/affrelay/retrypolicy"
)

// otlpReceiver is an OTLP/HTTP trace collector on 127.0.0.1 that keeps the spans it is sent.
type otlpReceiver struct {
	srv   *httptest.Server
	mu    sync.Mutex
	spans []receivedSpan
}

type receivedSpan struct {
	Name, TraceID, SpanID, ParentID string
}

func newOTLPReceiver(t *testing.T) *otlpReceiver {
	r := &otlpReceiver{}
	r.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		body, err := io.ReadAll(req.Body)
		var export collectorpb.ExportTraceServiceRequest
		if err != nil || req.URL.Path != "/v1/traces" || proto.Unmarshal(body, &export) != nil {
			http.Error(w, "not an OTLP trace export", http.StatusBadRequest)
			return
		}
		r.mu.Lock()
		for _, rs := range export.GetResourceSpans() {
			for _, ss := range rs.GetScopeSpans() {
				for _, s := range ss.GetSpans() {
					r.spans = append(r.spans, receivedSpan{Name: s.GetName(), TraceID: hex.EncodeToString(s.GetTraceId()),
						SpanID: hex.EncodeToString(s.GetSpanId()), ParentID: hex.EncodeToString(s.GetParentSpanId())})
				}
			}
		}
		r.mu.Unlock()
		w.Header().Set("Content-Type", "application/x-protobuf")
		_, _ = w.Write(nil)
	}))
	t.Cleanup(r.srv.Close)
	return r
}

// trace returns the spans of the trace that has a span of this name.
func (r *otlpReceiver) trace(name string) []receivedSpan {
	r.mu.Lock()
	defer r.mu.Unlock()
	var traceID string
	for _, s := range r.spans {
		if s.Name == name {
			traceID = s.TraceID
		}
	}
	var out []receivedSpan
	for _, s := range r.spans {
		if traceID != "" && s.TraceID == traceID {
			out = append(out, s)
		}
	}
	return out
}

// A postback is one trace: the HTTP request, the workflow start it makes, the ConversionWorkflow run and its
// activities, exported by OTLP to the configured collector.
func TestPostbackIsOneTrace(t *testing.T) {
	collector := newOTLPReceiver(t)
	forEachStore(t, retrypolicy.DefaultPolicy(), func(t *testing.T, e *testEnv) {
		tracker := newSink(t, always(http.StatusOK))
		key, _, affiliateID := e.setup(tracker.srv.URL)
		require.Equal(t, http.StatusOK, e.postback(key, ftd("evt-trace-"+e.app.Config.Database.Driver, affiliateID)).Status)
		var spans []receivedSpan
		names := map[string]bool{}
		eventually(t, 20*time.Second, "the postback's spans exported", func() bool {
			spans = collector.trace("GET /v1/postbacks")
			names = map[string]bool{}
			for _, s := range spans {
				names[s.Name] = true
			}
			return names["StartWorkflow:ConversionWorkflow"] && names["RunWorkflow:ConversionWorkflow"] && names["RunActivity:RecordConversion"]
		})
		t.Logf("spans of the trace: %v", names)
		ids := map[string]bool{}
		for _, s := range spans {
			ids[s.SpanID] = true
		}
		roots := 0
		for _, s := range spans {
			if s.ParentID == "" || !ids[s.ParentID] {
				roots++
				require.Equal(t, "GET /v1/postbacks", s.Name, "every other span descends from the HTTP request")
			}
		}
		require.Equal(t, 1, roots)
	}, func(c *config.Config) {
		c.Telemetry.OTLPEndpoint = collector.srv.URL
	})
}
