// Package webhooks is the application service for webhook subscriptions: their events, secrets (rotation)
// and test sends.
package webhooks

import (
	"cmp"
	"context"
	"errors"
	"net/http"
	"strings"
	"time"

	"github.com/affrelay/affrelay/apperr"
	"github.com/affrelay/affrelay/outbound"
	"github.com/affrelay/affrelay/performance"
	"github.com/affrelay/affrelay/retrypolicy"
	"github.com/affrelay/affrelay/signing"
	"github.com/affrelay/affrelay/store"
	"github.com/affrelay/affrelay/webhook"
)

// Service manages webhook subscriptions.
type Service struct {
	Store    *store.Store
	Settings Settings
}

// Settings configures webhook subscriptions.
type Settings struct {
	// SecretGrace is how long a rotated-out secret keeps signing.
	SecretGrace time.Duration
	// HTTP sends test events.
	HTTP *http.Client
}

// NewSubscription is what a webhook subscription is created with. AffiliateID, when set, limits it to events
// about that affiliate.
type NewSubscription struct {
	Kind, URL, Description, AffiliateID string
	Events                              []string
	Limits                              store.TargetLimits
	// Report is when performance.report goes out; empty fields take weekly and UTC.
	Report store.ReportSchedule
}

// SubscriptionUpdate changes the fields that are set.
type SubscriptionUpdate struct {
	URL, Description *string
	Events           []string // nil: unchanged
	Enabled          *bool
	SecretMaxAgeDays *int
	// MaxRPS and MaxInFlight are the subscription's own limits (0: the defaults).
	MaxRPS      *float64
	MaxInFlight *int
	// ReportFrequency and ReportTimeZone schedule performance.report.
	ReportFrequency, ReportTimeZone *string
}

func validateSubscription(sub store.WebhookSubscription) error {
	return errors.Join(
		apperr.Field("kind", webhook.ValidateKind(sub.Kind)),
		apperr.Field("url", webhook.ValidateURL(sub.URL)),
		apperr.Field("events", webhook.ValidateEvents(sub.Kind, strings.Split(sub.Events, ","))),
		apperr.Field("description", webhook.ValidateDescription(sub.Description)),
		sub.Limits.Validate(),
		apperr.Field("report_frequency", performance.ValidateFrequency(sub.Report.Frequency)),
		apperr.Field("report_time_zone", validTimeZone(sub.Report.TimeZone)),
	)
}

func validTimeZone(name string) error {
	_, err := performance.LoadTimeZone(name)
	return err
}

// CreateSubscription creates a subscription and its first secret, returned in clear this once.
func (s *Service) CreateSubscription(ctx context.Context, in NewSubscription) (store.WebhookSubscription, string, error) {
	if in.Kind == "" {
		in.Kind = webhook.KindWebhook
	}
	sub := store.WebhookSubscription{
		ID: store.NewID("whs"), Kind: in.Kind, URL: in.URL, Events: strings.Join(in.Events, ","),
		Description: in.Description, AffiliateID: in.AffiliateID, Enabled: true, Limits: in.Limits,
		Report: store.ReportSchedule{Frequency: cmp.Or(in.Report.Frequency, performance.Weekly), TimeZone: cmp.Or(in.Report.TimeZone, "UTC")},
	}
	if in.AffiliateID != "" && store.AffiliateExists(s.Store.DB.WithContext(ctx), in.AffiliateID) != nil {
		return sub, "", apperr.Invalid("affiliate_id", "names no affiliate")
	}
	if len(in.Events) == 0 {
		return sub, "", apperr.Invalid("events", "must name at least one event")
	}
	if err := validateSubscription(sub); err != nil {
		return sub, "", err
	}
	secret := signing.NewSecret()
	err := s.Store.Webhooks(ctx).CreateSubscription(&sub, store.WebhookSecret{ID: store.NewID("wss"), SubscriptionID: sub.ID, Secret: secret})
	return sub, secret, err
}

// Subscriptions lists a page of subscriptions in id order.
func (s *Service) Subscriptions(ctx context.Context, p store.ListPage) ([]store.WebhookSubscription, error) {
	return s.Store.Webhooks(ctx).Subscriptions(p)
}

// Subscription loads one subscription.
func (s *Service) Subscription(ctx context.Context, id string) (store.WebhookSubscription, error) {
	return s.Store.Webhooks(ctx).Subscription(id)
}

// UpdateSubscription changes a subscription. Enabling it again clears its run of failures.
func (s *Service) UpdateSubscription(ctx context.Context, id string, u SubscriptionUpdate) (store.WebhookSubscription, error) {
	sub, err := s.Subscription(ctx, id)
	if err != nil {
		return sub, err
	}
	if u.URL != nil {
		sub.URL = *u.URL
	}
	if u.Description != nil {
		sub.Description = *u.Description
	}
	if u.SecretMaxAgeDays != nil {
		sub.SecretMaxAgeDays = *u.SecretMaxAgeDays
	}
	sub.Limits = sub.Limits.With(u.MaxRPS, u.MaxInFlight)
	if u.ReportFrequency != nil {
		sub.Report.Frequency = *u.ReportFrequency
	}
	if u.ReportTimeZone != nil {
		sub.Report.TimeZone = *u.ReportTimeZone
	}
	if u.Events != nil {
		if len(u.Events) == 0 {
			return sub, apperr.Invalid("events", "must name at least one event")
		}
		sub.Events = strings.Join(u.Events, ",")
	}
	if u.Enabled != nil {
		if *u.Enabled && !sub.Enabled {
			sub.ConsecutiveFailures = 0
		}
		sub.Enabled = *u.Enabled
		sub.DisabledReason = ""
		if !sub.Enabled {
			sub.DisabledReason = "disabled by operator"
		}
	}
	if err := validateSubscription(sub); err != nil {
		return sub, err
	}
	return sub, s.Store.Webhooks(ctx).SaveSubscription(&sub)
}

// DeleteSubscription removes a subscription and its secrets; its pending deliveries end in needs_review.
func (s *Service) DeleteSubscription(ctx context.Context, id string) error {
	if _, err := s.Subscription(ctx, id); err != nil {
		return err
	}
	return s.Store.Webhooks(ctx).DeleteSubscription(id)
}

// RotatedSecret is a subscription's new secret and when the previous one stops signing.
type RotatedSecret struct {
	Secret            string
	PreviousExpiresAt time.Time
}

// RotateSecret makes a new secret current; the previous one keeps signing for the grace period.
func (s *Service) RotateSecret(ctx context.Context, id string) (RotatedSecret, error) {
	if _, err := s.Subscription(ctx, id); err != nil {
		return RotatedSecret{}, err
	}
	now := time.Now().UTC()
	r := RotatedSecret{Secret: signing.NewSecret(), PreviousExpiresAt: now.Add(s.Settings.SecretGrace)}
	err := s.Store.Webhooks(ctx).RotateSecret(store.WebhookSecret{ID: store.NewID("wss"), SubscriptionID: id, Secret: r.Secret, CreatedAt: now}, r.PreviousExpiresAt)
	return r, err
}

// WebhookTestResult is the outcome of one test send.
type WebhookTestResult struct {
	WebhookID  string
	StatusCode int
	Latency    time.Duration
	Delivered  bool
	Error      string
}

// TestWebhook sends a webhook.test event to the subscription now, signed and sent exactly as deliveries are,
// and reports what the receiver answered. Nothing is stored.
func (s *Service) TestWebhook(ctx context.Context, id string) (WebhookTestResult, error) {
	sub, err := s.Subscription(ctx, id)
	if err != nil {
		return WebhookTestResult{}, err
	}
	now := time.Now()
	secrets, err := s.Store.Webhooks(ctx).ActiveSecrets(sub.ID, now)
	if err != nil {
		return WebhookTestResult{}, err
	}
	body, err := webhook.Marshal(webhook.Test, now, webhook.TestData{SubscriptionID: sub.ID, Message: "test event from affrelay"})
	if err != nil {
		return WebhookTestResult{}, err
	}
	res := WebhookTestResult{WebhookID: store.NewID("msg")}
	header, err := outbound.WebhookHeaders(secrets, res.WebhookID, now, body)
	if err != nil {
		return WebhookTestResult{}, err
	}
	resp, sendErr := outbound.Send(ctx, s.Settings.HTTP, outbound.Request{Method: http.MethodPost, URL: sub.URL, Body: body, Header: header})
	res.Latency = time.Since(now)
	verdict := retrypolicy.Classify(resp.StatusCode, resp.Header.Get("Retry-After"), sendErr, time.Now())
	res.StatusCode, res.Delivered = resp.StatusCode, verdict.Outcome == retrypolicy.Delivered
	if !res.Delivered {
		res.Error = verdict.Reason
	}
	return res, nil
}
