package workflows

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	standardwebhooks "github.com/standard-webhooks/standard-webhooks/libraries/go"
	"github.com/stretchr/testify/mock"
	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/converter"
	"go.temporal.io/sdk/testsuite"
	"go.temporal.io/sdk/workflow"
	"gorm.io/gorm"

	"github.com/affrelay/affrelay/activities"
	"github.com/affrelay/affrelay/eventplan"
	"github.com/affrelay/affrelay/outbound"
	"github.com/affrelay/affrelay/retrypolicy"
	"github.com/affrelay/affrelay/signing"
	"github.com/affrelay/affrelay/store"
	"github.com/affrelay/affrelay/webhook"
)

// These tests run DeliveryWorkflow in the SDK test environment with the real activities: a SQLite store and
// real HTTP receivers. Only time is simulated.

type receiver struct {
	srv    *httptest.Server
	mu     sync.Mutex
	status int
	got    []*http.Request
	bodies [][]byte
}

func newReceiver(t *testing.T, status int) *receiver {
	r := &receiver{status: status}
	r.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		body, _ := io.ReadAll(req.Body)
		r.mu.Lock()
		r.got, r.bodies = append(r.got, req), append(r.bodies, body)
		st := r.status
		r.mu.Unlock()
		w.WriteHeader(st)
	}))
	t.Cleanup(r.srv.Close)
	return r
}

func (r *receiver) setStatus(s int) {
	r.mu.Lock()
	r.status = s
	r.mu.Unlock()
}

// types lists the event types received, in order.
func (r *receiver) types(t *testing.T) []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []string
	for _, b := range r.bodies {
		var env webhook.Envelope
		require.NoError(t, json.Unmarshal(b, &env))
		out = append(out, env.Type)
	}
	return out
}

// testClient sends to the test's receivers, which listen on 127.0.0.1.
func testClient(t *testing.T) *http.Client {
	allow, err := outbound.ParseAllowlist("127.0.0.1")
	require.NoError(t, err)
	return outbound.NewClient(2*time.Second, allow)
}

type webhookFixture struct {
	t      *testing.T
	acts   *activities.Activities
	db     *gorm.DB
	policy retrypolicy.Policy
}

func newWebhookFixture(t *testing.T, autoDisableAfter int) *webhookFixture {
	s, err := store.Open("sqlite", filepath.Join(t.TempDir(), "wf.db"))
	require.NoError(t, err)
	require.NoError(t, s.Migrate(context.Background()))
	t.Cleanup(func() { s.Close() })
	policy := retrypolicy.Policy{Schedule: []time.Duration{time.Minute}, MaxAttempts: 2, Window: time.Hour, MaxRetryAfter: time.Minute}
	acts := activities.New(s, policy, testClient(t))
	acts.Webhooks.AutoDisableAfter = autoDisableAfter
	return &webhookFixture{t: t, acts: acts, db: s.DB, policy: policy}
}

func (f *webhookFixture) subscribe(url string, events ...string) (store.WebhookSubscription, string) {
	sub := store.WebhookSubscription{ID: store.NewID("whs"), Kind: webhook.KindWebhook, URL: url, Events: strings.Join(events, ","), Enabled: true}
	secret := signing.NewSecret()
	require.NoError(f.t, f.db.Create(&sub).Error)
	require.NoError(f.t, f.db.Create(&store.WebhookSecret{ID: store.NewID("wss"), SubscriptionID: sub.ID, Secret: secret}).Error)
	return sub, secret
}

// plan emits one event and returns the deliveries planned for it.
func (f *webhookFixture) plan(eventType, key string) []store.Delivery {
	var refs []store.Delivery
	require.NoError(f.t, f.db.Transaction(func(tx *gorm.DB) error {
		var err error
		refs, err = store.PlanWebhookEvent(tx, eventplan.Event{
			Key: webhook.EventKey(eventType, key), Type: eventType, At: time.Now(), Data: map[string]string{"key": key},
		})
		return err
	}))
	return refs
}

// planOne emits a conversion.recorded event that exactly one subscription receives.
func (f *webhookFixture) planOne(key string) string {
	refs := f.plan(webhook.ConversionRecorded, key)
	require.Len(f.t, refs, 1)
	return refs[0].ID
}

// run executes the delivery's workflow; decide, when set, is what an operator does three hours in, long after
// the series ended in review. It returns the workflow IDs of the child deliveries the workflow started.
func (f *webhookFixture) run(deliveryID string, decide func(env *testsuite.TestWorkflowEnvironment)) (DeliveryResult, []string) {
	env := quietEnv()
	env.RegisterWorkflow(DeliveryWorkflow)
	env.RegisterActivity(f.acts)
	var children []string
	env.SetOnChildWorkflowStartedListener(func(info *workflow.Info, _ workflow.Context, _ converter.EncodedValues) {
		children = append(children, info.WorkflowExecution.ID)
	})
	if decide != nil {
		env.RegisterDelayedCallback(func() { decide(env) }, 3*time.Hour)
	}
	env.ExecuteWorkflow(DeliveryWorkflow, DeliveryInput{DeliveryID: deliveryID, Policy: f.policy})
	require.True(f.t, env.IsWorkflowCompleted())
	require.NoError(f.t, env.GetWorkflowError())
	var res DeliveryResult
	require.NoError(f.t, env.GetWorkflowResult(&res))
	return res, children
}

func (f *webhookFixture) status(deliveryID string) string {
	var d store.Delivery
	require.NoError(f.t, f.db.Where("id = ?", deliveryID).Take(&d).Error)
	return d.Status
}

func (f *webhookFixture) sub(id string) store.WebhookSubscription {
	var s store.WebhookSubscription
	require.NoError(f.t, f.db.Where("id = ?", id).Take(&s).Error)
	return s
}

func skip(env *testsuite.TestWorkflowEnvironment) { env.SignalWorkflow(SkipSignal, nil) }

func (r *receiver) verifyAll(t *testing.T, secret string) {
	t.Helper()
	wh, err := standardwebhooks.NewWebhook(secret)
	require.NoError(t, err)
	r.mu.Lock()
	defer r.mu.Unlock()
	for i, req := range r.got {
		require.NoError(t, wh.Verify(r.bodies[i], req.Header), "request %d", i+1)
	}
}

func TestWebhookAutoDisableAfterConsecutiveFailures(t *testing.T) {
	f := newWebhookFixture(t, 2)
	failing := newReceiver(t, http.StatusInternalServerError)
	watcher := newReceiver(t, http.StatusOK)
	sub, _ := f.subscribe(failing.srv.URL, webhook.ConversionRecorded)
	_, watcherSecret := f.subscribe(watcher.srv.URL, webhook.EndpointDisabled, webhook.DeliveryNeedsReview)

	// One failure, then a success: the run of failures starts over.
	res, children := f.run(f.planOne("cnv_1"), skip)
	require.Equal(t, DeliveryStateSkipped, res.State)
	require.Len(t, children, 1, "delivery.needs_review to the watcher")
	require.Equal(t, 1, f.sub(sub.ID).ConsecutiveFailures)
	failing.setStatus(http.StatusOK)
	res, children = f.run(f.planOne("cnv_2"), nil)
	require.Equal(t, DeliveryStateDelivered, res.State)
	require.Empty(t, children)
	require.Equal(t, 0, f.sub(sub.ID).ConsecutiveFailures)

	// Two failures in a row disable the subscription and tell the others.
	failing.setStatus(http.StatusBadGateway)
	_, _ = f.run(f.planOne("cnv_3"), skip)
	require.True(t, f.sub(sub.ID).Enabled)
	_, children = f.run(f.planOne("cnv_4"), skip)
	require.Len(t, children, 2, "delivery.needs_review and endpoint.disabled")
	disabled := f.sub(sub.ID)
	require.False(t, disabled.Enabled)
	require.Equal(t, "disabled after 2 deliveries in a row needed review", disabled.DisabledReason)
	require.Len(t, failing.got, 2+1+2+2)

	// The child deliveries ran in the test environment too, for real, to the watcher.
	types := watcher.types(t)
	require.ElementsMatch(t, []string{webhook.DeliveryNeedsReview, webhook.DeliveryNeedsReview, webhook.DeliveryNeedsReview, webhook.EndpointDisabled}, types)
	watcher.verifyAll(t, watcherSecret)
	var ev struct {
		Data webhook.EndpointDisabledData `json:"data"`
	}
	require.NoError(t, json.Unmarshal(watcher.bodies[slices.Index(types, webhook.EndpointDisabled)], &ev))
	require.Equal(t, webhook.EndpointDisabledData{Kind: "webhook", SubscriptionID: sub.ID, URL: failing.srv.URL, Reason: disabled.DisabledReason, ConsecutiveFailures: 2}, ev.Data)

	// A disabled subscription's new deliveries are held: none to start.
	require.Empty(t, f.plan(webhook.ConversionRecorded, "cnv_5"))
	require.Equal(t, store.DeliveryHeld, f.status(webhook.DeliveryID(webhook.EventKey(webhook.ConversionRecorded, "cnv_5"), sub.ID)))

	// 410 Gone disables at once, without waiting for the limit.
	gone := newReceiver(t, http.StatusGone)
	goneSub, _ := f.subscribe(gone.srv.URL, webhook.ConversionRecorded)
	_, children = f.run(f.planOne("cnv_6"), skip)
	require.Len(t, children, 2, "delivery.needs_review and endpoint.disabled")
	require.False(t, f.sub(goneSub.ID).Enabled)
	require.Equal(t, "receiver answered 410 Gone", f.sub(goneSub.ID).DisabledReason)
	require.Len(t, gone.got, 1)
}

func TestWebhookNeedsReviewThenReplayDelivers(t *testing.T) {
	f := newWebhookFixture(t, 5)
	rcv := newReceiver(t, http.StatusServiceUnavailable)
	watcher := newReceiver(t, http.StatusOK)
	sub, secret := f.subscribe(rcv.srv.URL, webhook.ConversionRecorded)
	f.subscribe(watcher.srv.URL, webhook.DeliveryNeedsReview)
	id := f.planOne("cnv_1")

	res, children := f.run(id, func(env *testsuite.TestWorkflowEnvironment) {
		require.Equal(t, store.DeliveryNeedsReview, f.status(id))
		require.Equal(t, 1, f.sub(sub.ID).ConsecutiveFailures)
		rcv.setStatus(http.StatusOK)
		env.SignalWorkflow(RedeliverSignal, nil)
	})
	require.Equal(t, DeliveryResult{State: DeliveryStateDelivered, Attempts: 3, StatusCode: 200}, res)
	require.Equal(t, store.DeliveryDelivered, f.status(id))
	require.Equal(t, 0, f.sub(sub.ID).ConsecutiveFailures)
	require.Len(t, children, 1)
	require.Equal(t, []string{webhook.DeliveryNeedsReview}, watcher.types(t))

	// Every attempt carried the same webhook-id and body, each verified by the Standard Webhooks library.
	require.Len(t, rcv.got, 3)
	for i, r := range rcv.got {
		require.Equal(t, id, r.Header.Get(signing.HeaderID))
		require.Equal(t, rcv.bodies[0], rcv.bodies[i])
	}
	rcv.verifyAll(t, secret)
}

func TestReviewOfAReviewEventAnnouncesNothing(t *testing.T) {
	f := newWebhookFixture(t, 5)
	down := newReceiver(t, http.StatusInternalServerError)
	watcher := newReceiver(t, http.StatusOK)
	downSub, _ := f.subscribe(down.srv.URL, webhook.DeliveryNeedsReview)
	f.subscribe(watcher.srv.URL, webhook.DeliveryNeedsReview)
	refs := f.plan(webhook.DeliveryNeedsReview, "dlv_x:2")
	require.Len(t, refs, 2)
	for _, r := range refs {
		if r.EndpointID != downSub.ID {
			continue
		}
		res, children := f.run(r.ID, skip)
		require.Equal(t, DeliveryStateSkipped, res.State)
		require.Empty(t, children, "a delivery.needs_review about a delivery.needs_review would loop")
	}
	var n int64
	require.NoError(t, f.db.Model(&store.Delivery{}).Count(&n).Error)
	require.EqualValues(t, 2, n)
	require.Equal(t, 1, f.sub(downSub.ID).ConsecutiveFailures)
}

func TestAffiliateSignupStartsThePlannedDeliveries(t *testing.T) {
	env := newEnv(t)
	policy := retrypolicy.DefaultPolicy()
	env.OnActivity(acts.AffiliateSignupDeliveries, mock.Anything, activities.AffiliateSignupDeliveriesInput{AffiliateID: "aff_1"}).
		Return(activities.AffiliateSignupDeliveriesResult{Policy: policy, Deliveries: []activities.DeliveryRef{
			{ID: "msg_ops", EndpointID: "whs_ops", AffiliateID: "aff_1"}, {ID: "msg_crm", EndpointID: "whs_crm", AffiliateID: "aff_1"},
		}}, nil)
	started := recordDeliveryStarts(t, env, policy)
	env.OnWorkflow(DeliveryWorkflow, mock.Anything, mock.Anything).Return(DeliveryResult{State: DeliveryStateDelivered}, nil)
	env.ExecuteWorkflow(AffiliateSignupWorkflow, AffiliateSignupInput{AffiliateID: "aff_1"})
	require.NoError(t, env.GetWorkflowError())
	var res AffiliateSignupResult
	require.NoError(t, env.GetWorkflowResult(&res))
	require.Equal(t, []string{"msg_ops", "msg_crm"}, res.Deliveries)
	require.ElementsMatch(t, []string{"msg_ops", "msg_crm"}, *started)
}
