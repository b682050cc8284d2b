package server

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/affrelay/affrelay/apperr"
	"github.com/affrelay/affrelay/config"
	"github.com/affrelay/affrelay/evidence"
	"github.com/affrelay/affrelay/postback"
	"github.com/affrelay/affrelay/service/affiliates"
	"github.com/affrelay/affrelay/service/conversions"
	"github.com/affrelay/affrelay/store"
)

// These tests drive the handlers through their narrow service interfaces with fakes: no Temporal, no
// database. A fake embeds the interface, so a handler calling a method the test did not expect panics.

const testAdminToken = "admin-token"

type fakeIntegrations struct{ Integrations }

func (fakeIntegrations) Authenticate(_ context.Context, key string) (store.Integration, string, error) {
	if key != "ak_test" {
		return store.Integration{}, "", apperr.ErrUnauthorized
	}
	return store.Integration{ID: "int_1"}, "key_1", nil
}

func (fakeIntegrations) Integration(_ context.Context, id string) (store.Integration, error) {
	return store.Integration{ID: id}, nil
}

func (fakeIntegrations) ActiveSecrets(context.Context, string, time.Time) ([]string, error) {
	return nil, nil
}

type fakeConversions struct {
	Conversions
	submitted []postback.Event
	duplicate bool
}

func (f *fakeConversions) SubmitPostback(_ context.Context, integrationID string, ev postback.Event, _ *evidence.Request) (conversions.Submission, error) {
	f.submitted = append(f.submitted, ev)
	return conversions.Submission{Duplicate: f.duplicate, WorkflowID: "conversion:" + integrationID + ":" + ev.EventID}, nil
}

type fakeDeliveries struct {
	Deliveries
	decided []string
}

func (f *fakeDeliveries) Redeliver(_ context.Context, id string) error {
	if id == "dlv_done" {
		return apperr.Conflict("delivery %s is delivered, not needs_review", id)
	}
	f.decided = append(f.decided, "redeliver "+id)
	return nil
}

func (f *fakeDeliveries) Skip(_ context.Context, id string) error {
	if id == "dlv_missing" {
		return apperr.NotFound("delivery " + id)
	}
	f.decided = append(f.decided, "skip "+id)
	return nil
}

type fakeAffiliates struct{ Affiliates }

func (fakeAffiliates) SignUpAffiliate(_ context.Context, in affiliates.NewAffiliate) (store.Affiliate, store.Plan, string, error) {
	return store.Affiliate{ID: "aff_1", Name: in.Name}, in.Plan, "", affiliates.ErrSignupNotStarted
}

type discardAudit struct{}

func (discardAudit) Record(store.AuditRecord) {}

func newTestHandler(o Options) http.Handler {
	o.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	o.AdminTokens, o.MaxBodyBytes, o.Audit = []string{testAdminToken}, 1<<20, discardAudit{}
	o.Postback = config.Postback{FutureSkew: time.Minute}
	o.Security = config.Security{RateLimitRPS: 1000, RateLimitBurst: 1000, SignatureTolerance: time.Minute}
	return New(o)
}

func serve(h http.Handler, method, target, body string, header map[string]string) *httptest.ResponseRecorder {
	req := httptest.NewRequest(method, target, strings.NewReader(body))
	req.RemoteAddr = "192.0.2.10:40000"
	for k, v := range header {
		req.Header.Set(k, v)
	}
	w := httptest.NewRecorder()
	h.ServeHTTP(w, req)
	return w
}

func errorCode(t *testing.T, w *httptest.ResponseRecorder) string {
	var body struct {
		Error apiError `json:"error"`
	}
	require.NoError(t, json.Unmarshal(w.Body.Bytes(), &body), w.Body.String())
	return body.Error.Code
}

func TestPostbackHandlerAnswersAcceptedOrDuplicate(t *testing.T) {
	conv := &fakeConversions{}
	h := newTestHandler(Options{Integrations: fakeIntegrations{}, Conversions: conv})
	query := "/v1/postbacks?event_id=evt-1&event=registration&timestamp=" + strconv.FormatInt(time.Now().Unix(), 10)

	w := serve(h, http.MethodGet, query, "", map[string]string{"X-API-Key": "ak_test"})
	require.Equal(t, http.StatusOK, w.Code, w.Body.String())
	require.JSONEq(t, `{"status":"accepted","event_id":"evt-1","workflow_id":"conversion:int_1:evt-1"}`, w.Body.String())
	require.Len(t, conv.submitted, 1)
	require.Equal(t, "registration", conv.submitted[0].Type)

	conv.duplicate = true
	w = serve(h, http.MethodGet, query, "", map[string]string{"X-API-Key": "ak_test"})
	require.Equal(t, http.StatusOK, w.Code)
	require.Contains(t, w.Body.String(), `"status":"duplicate"`)

	w = serve(h, http.MethodGet, query, "", map[string]string{"X-API-Key": "ak_wrong"})
	require.Equal(t, http.StatusUnauthorized, w.Code)
	require.Len(t, conv.submitted, 2, "an unauthenticated postback reaches no service")
}

func TestDeliveryDecisionsMapServiceErrors(t *testing.T) {
	dl := &fakeDeliveries{}
	h := newTestHandler(Options{Deliveries: dl})
	auth := map[string]string{"Authorization": "Bearer " + testAdminToken}
	for _, tc := range []struct {
		path       string
		wantStatus int
		wantCode   string
	}{
		{"/v1/admin/deliveries/dlv_1/replay", http.StatusAccepted, ""},
		{"/v1/admin/deliveries/dlv_2/skip", http.StatusAccepted, ""},
		{"/v1/admin/deliveries/dlv_done/replay", http.StatusConflict, "conflict"},
		{"/v1/admin/deliveries/dlv_missing/skip", http.StatusNotFound, "not_found"},
	} {
		t.Run(tc.path, func(t *testing.T) {
			w := serve(h, http.MethodPost, tc.path, "", auth)
			require.Equal(t, tc.wantStatus, w.Code, w.Body.String())
			if tc.wantCode != "" {
				require.Equal(t, tc.wantCode, errorCode(t, w))
			}
		})
	}
	require.Equal(t, []string{"redeliver dlv_1", "skip dlv_2"}, dl.decided)
	w := serve(h, http.MethodPost, "/v1/admin/deliveries/dlv_1/replay", "", nil)
	require.Equal(t, http.StatusUnauthorized, w.Code)
}

// A bad plan is refused before the service is called; a signup the service could not start is a 503.
func TestCreateAffiliateAnswers(t *testing.T) {
	h := newTestHandler(Options{Affiliates: fakeAffiliates{}})
	for _, tc := range []struct {
		currency, wantCode, wantField string
		wantStatus                    int
	}{
		{"EUR", "signup_not_started", "", http.StatusServiceUnavailable},
		{"EURO", "invalid_field", `"field":"plan.currency"`, http.StatusBadRequest},
	} {
		w := serve(h, http.MethodPost, "/v1/admin/affiliates", `{"name":"Ann","plan":{"type":"cpa","amount":"50","currency":"`+tc.currency+`"}}`,
			map[string]string{"Authorization": "Bearer " + testAdminToken, "Content-Type": "application/json"})
		require.Equal(t, tc.wantStatus, w.Code, w.Body.String())
		require.Equal(t, tc.wantCode, errorCode(t, w))
		require.Contains(t, w.Body.String(), tc.wantField)
	}
}
