package server

import (
	"context"
	"crypto/ed25519"
	"time"

	"github.com/affrelay/affrelay/commission"
	"github.com/affrelay/affrelay/evidence"
	"github.com/affrelay/affrelay/performance"
	"github.com/affrelay/affrelay/postback"
	"github.com/affrelay/affrelay/service/affiliates"
	"github.com/affrelay/affrelay/service/audit"
	"github.com/affrelay/affrelay/service/conversions"
	"github.com/affrelay/affrelay/service/deliveries"
	"github.com/affrelay/affrelay/service/webhooks"
	"github.com/affrelay/affrelay/store"
	"github.com/affrelay/affrelay/webhook"
)

// The handlers reach the application services through these narrow interfaces, so handler tests run
// against fakes without Temporal or a database. Each is implemented by the service/<concern> package named.

// Conversions accepts postbacks and clicks (service/conversions).
type Conversions interface {
	SubmitPostback(ctx context.Context, integrationID string, ev postback.Event, req *evidence.Request) (conversions.Submission, error)
	ReceivedRequest(ctx context.Context, integrationID, eventID string) (evidence.Request, error)
	Conversion(ctx context.Context, integrationID, eventID string) (store.Conversion, error)
	RecordClick(ctx context.Context, affiliateCode string, subs [5]string, landing, visitor string) (store.Click, string, error)
	UnattributedConversions(ctx context.Context, from, to time.Time, limit int) ([]conversions.Unattributed, error)
}

// Integrations authenticates inbound requests and manages integrations (service/integrations).
type Integrations interface {
	Authenticate(ctx context.Context, key string) (in store.Integration, keyID string, err error)
	Integration(ctx context.Context, id string) (store.Integration, error)
	ListIntegrations(ctx context.Context, p store.ListPage) ([]store.Integration, error)
	ActiveSecrets(ctx context.Context, integrationID string, now time.Time) ([]string, error)
	CreateIntegration(ctx context.Context, name string) (store.Integration, string, error)
	SetInboundSecurity(ctx context.Context, id string, sec store.InboundSecurity) (store.Integration, error)
	CreateAPIKey(ctx context.Context, integrationID, label string) (store.APIKey, string, error)
	APIKeys(ctx context.Context, integrationID string) ([]store.APIKey, error)
	RevokeAPIKey(ctx context.Context, integrationID, keyID string, now time.Time) (store.APIKey, error)
	AddSigningSecret(ctx context.Context, integrationID string, expiresAt *time.Time) (store.SigningSecret, error)
	SigningSecrets(ctx context.Context, integrationID string) ([]store.SigningSecret, error)
	ExpireSigningSecret(ctx context.Context, integrationID, secretID string, now time.Time) (store.SigningSecret, error)
	SetLandingHosts(ctx context.Context, integrationID string, hosts []string) (store.Integration, error)
	SetPostbackMapping(ctx context.Context, id string, m postback.Mapping, key string) (store.Integration, error)
	ResealSecrets(ctx context.Context) (store.ResealResult, error)
}

// Affiliates manages affiliates, their plans and FX rates, and reads their commissions (service/affiliates).
type Affiliates interface {
	SignUpAffiliate(ctx context.Context, in affiliates.NewAffiliate) (store.Affiliate, store.Plan, string, error)
	StartAffiliateSignup(ctx context.Context, affiliateID string) (string, error)
	AddPostbackEndpoint(ctx context.Context, ep store.PostbackEndpoint) (store.PostbackEndpoint, error)
	UpdatePostbackEndpoint(ctx context.Context, affiliateID, endpointID string, u affiliates.EndpointUpdate) (store.PostbackEndpoint, error)
	Endpoints(ctx context.Context, affiliateID string, p store.ListPage) ([]store.PostbackEndpoint, error)
	DeletePostbackEndpoint(ctx context.Context, affiliateID, endpointID string) error
	AddPlanVersion(ctx context.Context, affiliateID string, p store.Plan) (store.Plan, error)
	PlanVersions(ctx context.Context, affiliateID string) ([]store.Plan, error)
	SetParent(ctx context.Context, affiliateID, parentID string, shareBP int64) (store.Affiliate, error)
	AddFXRate(ctx context.Context, r store.FXRate) (store.FXRate, error)
	FXRates(ctx context.Context) ([]store.FXRate, error)
	CommissionEntries(ctx context.Context, affiliateID string, from, to time.Time) ([]commission.Entry, error)
	Performance(ctx context.Context, affiliateID, groupBy string, from, to time.Time) (performance.Report, error)
	Registration(ctx context.Context, id string) (webhook.AffiliateData, error)
	ListAffiliates(ctx context.Context, p store.ListPage) ([]affiliates.ListedAffiliate, error)
}

// Webhooks manages webhook subscriptions (service/webhooks).
type Webhooks interface {
	CreateSubscription(ctx context.Context, in webhooks.NewSubscription) (store.WebhookSubscription, string, error)
	Subscriptions(ctx context.Context, p store.ListPage) ([]store.WebhookSubscription, error)
	Subscription(ctx context.Context, id string) (store.WebhookSubscription, error)
	UpdateSubscription(ctx context.Context, id string, u webhooks.SubscriptionUpdate) (store.WebhookSubscription, error)
	DeleteSubscription(ctx context.Context, id string) error
	RotateSecret(ctx context.Context, id string) (webhooks.RotatedSecret, error)
	TestWebhook(ctx context.Context, id string) (webhooks.WebhookTestResult, error)
}

// Deliveries lists deliveries and takes operators' decisions on them (service/deliveries).
type Deliveries interface {
	List(ctx context.Context, f deliveries.Filter, afterID string) ([]deliveries.WithAttempts, error)
	Redeliver(ctx context.Context, deliveryID string) error
	Skip(ctx context.Context, deliveryID string) error
	Refire(ctx context.Context, deliveryID, reason string) (store.Delivery, error)
	StartRefireJob(ctx context.Context, r deliveries.RefireRequest) (store.RefireJob, error)
	RefireJob(ctx context.Context, id string) (store.RefireJob, error)
	ReleaseHeld(ctx context.Context, targetID, action, reason string) (deliveries.HeldRelease, error)
	QueueDepth(ctx context.Context) (map[string]int64, error)
	Queue(ctx context.Context) (deliveries.QueueReport, error)
}

// AuditLog stores one row per API call, off the request path (infra.AuditLog).
type AuditLog interface {
	Record(r store.AuditRecord)
}

// Requests reads and verifies the audit log (service/audit).
type Requests interface {
	Requests(ctx context.Context, f audit.RequestFilter) ([]store.AuditRecord, error)
	Verify(ctx context.Context, req audit.VerifyRequest) (audit.Report, error)
}

// Evidence builds signed evidence bundles for disputes (service/disputes).
type Evidence interface {
	Bundle(ctx context.Context, integrationID, eventID string) ([]byte, error)
	PublicKey() (ed25519.PublicKey, error)
}
