package infra

import (
	"context"
	"log/slog"
	"time"

	"github.com/affrelay/affrelay/eventplan"
	"github.com/affrelay/affrelay/store"
	"github.com/affrelay/affrelay/webhook"
)

// SecretWatch announces secret.expiring once per secret (inbound signing secrets and webhook secrets) when
// it comes within Warning of its end: its expiry, or its owner's maximum age. Every API process runs it; the
// announcement is marked on the secret in the transaction that plans it, so it goes out once.
type SecretWatch struct {
	Store   *store.Store
	MaxAge  time.Duration // secret.max_age, for owners without their own
	Warning time.Duration // secret.expiry_warning
	// Offset (secret.clock_offset) moves the clock secrets age by, not the time announcements carry.
	Offset time.Duration
	Logger *slog.Logger
	Announcer
}

// Run checks at once and then every interval until ctx ends.
func (w *SecretWatch) Run(ctx context.Context, interval time.Duration) {
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		if err := w.Check(ctx); err != nil && ctx.Err() == nil {
			w.Logger.Warn("secret age check failed", "error", err)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// Check announces every secret whose secret.expiring is due now.
func (w *SecretWatch) Check(ctx context.Context) error {
	secrets, err := w.Store.Secrets(ctx).Unannounced(time.Now().Add(w.Offset))
	if err != nil {
		return err
	}
	// Read after the query, so no secret it found is younger than now says.
	at := time.Now().UTC()
	now := at.Add(w.Offset)
	for _, s := range secrets {
		maxAge := eventplan.SecretMaxAge(s.OwnMaxAgeDays, w.MaxAge)
		end := eventplan.SecretEnd(s.CreatedAt, s.ExpiresAt, maxAge)
		if !eventplan.SecretExpiringDue(end, now, w.Warning, s.ExpiresAt != nil) {
			continue
		}
		d := webhook.SecretExpiringData{
			Kind: s.Kind, SecretID: s.ID, Prefix: s.Prefix, CreatedAt: s.CreatedAt.UTC(), ExpiresAt: end,
			AgeDays: eventplan.SecretAgeDays(s.CreatedAt, now), MaxAgeDays: int(maxAge / (24 * time.Hour)),
		}
		if s.Kind == store.SecretKindSigning {
			d.IntegrationID = s.OwnerID
		} else {
			d.SubscriptionID = s.OwnerID
		}
		pending, marked, err := w.Store.Secrets(ctx).AnnounceExpiring(s.Kind, s.ID, at, eventplan.SecretExpiring(d, at))
		if err != nil {
			return err
		}
		if !marked {
			continue // another API process announced it first
		}
		w.Logger.Warn("secret reaches its maximum age soon: rotate it", "kind", s.Kind, "secret_id", s.ID, "owner", s.OwnerID, "expires_at", end)
		if err := w.announce(ctx, pending); err != nil {
			return err
		}
	}
	return nil
}
