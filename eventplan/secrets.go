package eventplan

import (
	"time"

	"github.com/affrelay/affrelay/webhook"
)

// day is how secret ages are counted and set.
const day = 24 * time.Hour

// SecretMaxAge is an owner's (integration's or subscription's) maximum secret age: its own days, or def.
func SecretMaxAge(ownDays int, def time.Duration) time.Duration {
	if ownDays > 0 {
		return time.Duration(ownDays) * day
	}
	return def
}

// SecretAgeDays is a secret's age in whole days at now.
func SecretAgeDays(created, now time.Time) int {
	return int(now.Sub(created) / day)
}

// SecretEnd is when a secret reaches its end: its expiry when set (a signing secret gets one from its maximum
// age when added), else its creation plus maxAge.
func SecretEnd(created time.Time, expires *time.Time, maxAge time.Duration) time.Time {
	if expires != nil {
		return expires.UTC()
	}
	return created.Add(maxAge).UTC()
}

// SecretExpiringDue reports whether secret.expiring is due at now for a secret ending at end: from warning
// before its end. A secret that stops at its end (stops: it has an expiry) is announced by nothing after it.
// One that goes on past its maximum age (a subscription's current secret, which is not cut off, or a signing
// secret added before maximum ages) is announced past it too, so it is not used on unannounced.
func SecretExpiringDue(end, now time.Time, warning time.Duration, stops bool) bool {
	return !now.Before(end.Add(-warning)) && (!stops || now.Before(end))
}

// SecretExpiring is secret.expiring of one secret, announced at at; once per secret (the key is its id).
func SecretExpiring(d webhook.SecretExpiringData, at time.Time) Event {
	return Event{
		Key: webhook.EventKey(webhook.SecretExpiring, d.SecretID), Type: webhook.SecretExpiring, At: at, Data: d,
		IntegrationID: d.IntegrationID,
	}
}
