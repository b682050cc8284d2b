// Package postback parses and validates inbound conversion postbacks. It does no I/O.
package postback

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/affrelay/affrelay/money"
)

// Event types an operator may send.
const (
	Registration = "registration"
	FTD          = "ftd"
	Deposit      = "deposit"
	Revenue      = "revenue"
	Chargeback   = "chargeback"
	Refund       = "refund"
	// Reversal cancels the earlier event named by original_event_id.
	Reversal = "reversal"
	// Trade is a forex client's traded volume, in lots (volume), of an instrument class (instrument).
	Trade = "trade"
)

// FTDAdjustment changes the amount of the player's first deposit (original_event_id) by its amount. Only a
// reconciliation records it, when a file restates a first deposit; an operator cannot send it.
const FTDAdjustment = "ftd_adjustment"

// EventTypes lists every accepted event type.
var EventTypes = []string{Registration, FTD, Deposit, Revenue, Chargeback, Refund, Reversal, Trade}

// LotDecimals is the precision of a trade's volume: 1.25 lots is held as 125 hundredths of a lot.
const LotDecimals = 2

// Instrument classes a trade may name. A volume plan pays a rate per lot per class.
const (
	InstrumentFX          = "fx"
	InstrumentMetals      = "metals"
	InstrumentIndices     = "indices"
	InstrumentCommodities = "commodities"
	InstrumentCrypto      = "crypto"
	InstrumentStocks      = "stocks"
)

// InstrumentClasses lists every instrument class.
var InstrumentClasses = []string{InstrumentFX, InstrumentMetals, InstrumentIndices, InstrumentCommodities, InstrumentCrypto, InstrumentStocks}

// ParseLots reads a volume in lots with at most LotDecimals decimal places, in hundredths of a lot.
func ParseLots(s string) (int64, error) { return money.ParseScaled(s, LotDecimals) }

// FormatLots renders hundredths of a lot as lots: 125 -> "1.25".
func FormatLots(hundredths int64) string { return money.FormatScaled(hundredths, LotDecimals) }

// Field names of a postback.
const (
	FieldEventID     = "event_id"
	FieldEvent       = "event"
	FieldAffiliateID = "affiliate_id"
	FieldPlayerID    = "player_id"
	FieldClickID     = "click_id"
	FieldAmount      = "amount"
	FieldCurrency    = "currency"
	FieldOccurredAt  = "occurred_at"
	// FieldOriginalEventID links a chargeback, refund or reversal to the event it undoes.
	FieldOriginalEventID = "original_event_id"
	// FieldVolume is a trade's traded volume in lots; FieldInstrument its instrument class.
	FieldVolume     = "volume"
	FieldInstrument = "instrument"
)

// SubFields are the free-form sub-id fields sub1..sub5.
var SubFields = [5]string{"sub1", "sub2", "sub3", "sub4", "sub5"}

// Limits on field lengths, in bytes.
const (
	MaxIDLength  = 128
	MaxSubLength = 256
)

// oldestOccurredAt bounds occurred_at from below; anything older is a sender bug, not a conversion.
var oldestOccurredAt = time.Date(2000, 1, 1, 0, 0, 0, 0, time.UTC)

// Event is one validated conversion event.
type Event struct {
	EventID     string
	Type        string
	AffiliateID string
	PlayerID    string
	ClickID     string
	AmountMinor int64 // in Currency's minor units; 0 when no amount was sent
	Currency    string
	OccurredAt  time.Time
	Subs        [5]string
	// OriginalEventID is the event a chargeback, refund or reversal undoes.
	OriginalEventID string
	// Status is approved, pending or declined as the sender said; "" when it said nothing, which records
	// the event approved and never changes a recorded one.
	Status string
	// VolumeLots (hundredths of a lot) and Instrument ("" when not sent) are a trade's.
	VolumeLots int64
	Instrument string
}

// FieldError says which field is wrong and why.
type FieldError struct {
	Field   string
	Message string
}

func (e *FieldError) Error() string { return e.Field + ": " + e.Message }

// Fields is the raw postback as field name → values, whatever the wire format was.
type Fields map[string][]string

// Value returns the one value of the named field under the rules every client-sent field follows: given at
// most once, at most maxLen bytes, valid UTF-8 without control characters (PostgreSQL refuses NUL in text);
// "" when absent. Errors are *FieldError. The click tracker applies the same rules to its parameters.
func (f Fields) Value(name string, required bool, maxLen int) (string, error) {
	vals := f[name]
	if len(vals) > 1 {
		return "", &FieldError{name, "is given more than once"}
	}
	v := ""
	if len(vals) == 1 {
		v = vals[0]
	}
	switch {
	case v == "" && required:
		return "", &FieldError{name, "is required"}
	case len(v) > maxLen:
		return "", &FieldError{name, fmt.Sprintf("is longer than %d bytes", maxLen)}
	case !printable(v):
		return "", &FieldError{name, "must be valid UTF-8 without control characters"}
	}
	return v, nil
}

// Idempotency keys: what makes two postbacks of an integration the same event.
const (
	// KeyEventID: the sender's event_id (the default).
	KeyEventID = "event_id"
	// KeyClickID: click_id and the event type, for senders without event ids; a second ftd of one click is
	// a duplicate. The event's EventID is then derived from them (ClickKeyedEventID) and event_id is refused.
	KeyClickID = "click_id"
)

// IdempotencyKeys lists the keys an integration may choose.
var IdempotencyKeys = []string{KeyEventID, KeyClickID}

// RequiredFields are the fields every postback must carry under an idempotency key.
func RequiredFields(key string) []string {
	if key == KeyClickID {
		return []string{FieldClickID, FieldEvent}
	}
	return []string{FieldEventID, FieldEvent}
}

// ClickKeyedEventID is the event id of a click-keyed event: "<type>:<click_id>", or, when that would pass
// MaxIDLength, "<type>:sha256:<hex>" of the click id. Workflow ids and the database's unique index use it.
func ClickKeyedEventID(eventType, clickID string) string {
	id := eventType + ":" + clickID
	if len(id) <= MaxIDLength {
		return id
	}
	sum := sha256.Sum256([]byte(clickID))
	return eventType + ":sha256:" + hex.EncodeToString(sum[:])
}

// Parse validates raw fields into an Event keyed by event_id. now is the receive time, used when
// occurred_at is absent; futureSkew is how far past now occurred_at may lie. Errors are *FieldError.
func Parse(f Fields, now time.Time, futureSkew time.Duration) (Event, error) {
	return ParseKeyed(f, now, futureSkew, KeyEventID)
}

// ParseKeyed is Parse under the integration's idempotency key (KeyEventID or KeyClickID).
func ParseKeyed(f Fields, now time.Time, futureSkew time.Duration, key string) (Event, error) {
	var ev Event
	var err error
	get := func(name string, required bool, maxLen int) string {
		if err != nil {
			return ""
		}
		var v string
		v, err = f.Value(name, required, maxLen)
		return v
	}

	byClick := key == KeyClickID
	ev.EventID = get(FieldEventID, !byClick, MaxIDLength)
	ev.Type = get(FieldEvent, true, 32)
	ev.AffiliateID = get(FieldAffiliateID, false, MaxIDLength)
	ev.PlayerID = get(FieldPlayerID, false, MaxIDLength)
	ev.ClickID = get(FieldClickID, byClick, MaxIDLength)
	ev.Status = get(FieldStatus, false, 16)
	amount := get(FieldAmount, false, 32)
	ev.Currency = get(FieldCurrency, false, 3)
	occurred := get(FieldOccurredAt, false, 64)
	ev.OriginalEventID = get(FieldOriginalEventID, ev.Type == Reversal, MaxIDLength)
	volume := get(FieldVolume, ev.Type == Trade, 32)
	ev.Instrument = get(FieldInstrument, false, 16)
	for i, name := range SubFields {
		ev.Subs[i] = get(name, false, MaxSubLength)
	}
	if err != nil {
		return Event{}, err
	}

	if !knownType(ev.Type) {
		return Event{}, &FieldError{FieldEvent, fmt.Sprintf("%q is not one of %s", ev.Type, strings.Join(EventTypes, ", "))}
	}
	if ev.Status != "" && !slices.Contains(Statuses, ev.Status) {
		return Event{}, &FieldError{FieldStatus, fmt.Sprintf("%q is not one of %s", ev.Status, strings.Join(Statuses, ", "))}
	}
	if byClick && ev.EventID != "" {
		return Event{}, &FieldError{FieldEventID, "is not taken: this integration's idempotency key is click_id and the event type (map the parameter away or list it as ignored)"}
	}
	// Padded ids would be different keys for the same thing: a second CPA for " p-42" and "p-42".
	for _, id := range []struct{ field, value string }{
		{FieldEventID, ev.EventID}, {FieldAffiliateID, ev.AffiliateID}, {FieldPlayerID, ev.PlayerID}, {FieldClickID, ev.ClickID},
	} {
		if strings.TrimSpace(id.value) != id.value {
			return Event{}, &FieldError{id.field, "must not start or end with white space"}
		}
	}
	if byClick {
		ev.EventID = ClickKeyedEventID(ev.Type, ev.ClickID)
	}
	if ev.OriginalEventID != "" && ev.Type != Chargeback && ev.Type != Refund && ev.Type != Reversal {
		return Event{}, &FieldError{FieldOriginalEventID, "is only for chargeback, refund and reversal events"}
	}
	if ev.VolumeLots, err = parseVolume(ev.Type, volume, ev.Instrument); err != nil {
		return Event{}, err
	}
	if ev.Type != Registration && ev.Type != Reversal && ev.Type != Trade && amount == "" {
		return Event{}, &FieldError{FieldAmount, fmt.Sprintf("is required for %s events", ev.Type)}
	}
	if amount != "" && ev.Currency == "" {
		return Event{}, &FieldError{FieldCurrency, "is required with amount"}
	}
	if ev.Currency != "" {
		if !money.ValidCurrency(ev.Currency) {
			return Event{}, &FieldError{FieldCurrency, fmt.Sprintf("%q is not an ISO 4217 currency code such as USD", ev.Currency)}
		}
		if amount == "" {
			return Event{}, &FieldError{FieldAmount, "is required with currency"}
		}
	}
	if amount != "" {
		minor, perr := money.Parse(amount, ev.Currency)
		if perr != nil {
			return Event{}, &FieldError{FieldAmount, perr.Error()}
		}
		// Only revenue (net gaming revenue) can be negative; the sign of a chargeback or refund comes from its type.
		if minor < 0 && ev.Type != Revenue {
			return Event{}, &FieldError{FieldAmount, fmt.Sprintf("must not be negative for %s events", ev.Type)}
		}
		ev.AmountMinor = minor
	}

	ev.OccurredAt = now.UTC()
	if occurred != "" {
		t, perr := time.Parse(time.RFC3339Nano, occurred)
		if perr != nil {
			return Event{}, &FieldError{FieldOccurredAt, fmt.Sprintf("%q is not an RFC 3339 time such as 2026-01-02T15:04:05Z", occurred)}
		}
		if t.After(now.Add(futureSkew)) {
			return Event{}, &FieldError{FieldOccurredAt, "is in the future"}
		}
		if t.Before(oldestOccurredAt) {
			return Event{}, &FieldError{FieldOccurredAt, "is before 2000-01-01"}
		}
		ev.OccurredAt = t.UTC()
	}
	return ev, nil
}

// parseVolume validates a trade's volume and instrument class; other events carry neither.
func parseVolume(eventType, volume, instrument string) (int64, error) {
	if eventType != Trade {
		if volume != "" {
			return 0, &FieldError{FieldVolume, "is only for trade events"}
		}
		if instrument != "" {
			return 0, &FieldError{FieldInstrument, "is only for trade events"}
		}
		return 0, nil
	}
	if instrument != "" && !slices.Contains(InstrumentClasses, instrument) {
		return 0, &FieldError{FieldInstrument, fmt.Sprintf("%q is not one of %s", instrument, strings.Join(InstrumentClasses, ", "))}
	}
	lots, err := ParseLots(volume)
	if err != nil {
		return 0, &FieldError{FieldVolume, "is lots with at most 2 decimal places, such as 1.25: " + err.Error()}
	}
	if lots <= 0 {
		return 0, &FieldError{FieldVolume, "must be above 0 lots"}
	}
	return lots, nil
}

func knownType(t string) bool {
	for _, k := range EventTypes {
		if t == k {
			return true
		}
	}
	return false
}

func printable(s string) bool {
	if !utf8.ValidString(s) {
		return false
	}
	for _, r := range s {
		if r < 0x20 || (r >= 0x7f && r <= 0x9f) { // C0, DEL and C1 controls
			return false
		}
	}
	return true
}
