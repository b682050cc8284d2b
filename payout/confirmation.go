package payout

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/affrelay/affrelay/apperr"
	"github.com/affrelay/affrelay/money"
	"github.com/affrelay/affrelay/strictjson"
)

// Confirmation outcomes.
const (
	ConfirmPaid   = "paid"
	ConfirmFailed = "failed"
)

// Limits on a confirmation's text fields.
const (
	maxExternalRef = 128
	maxReason      = 512
)

// Confirmation is the operator's answer to payout.requested.
type Confirmation struct {
	Status      string
	ExternalRef string
	PaidAt      time.Time // zero unless paid
	Reason      string
	// AmountMinor and Currency, when the operator sends them, must equal the statement's.
	HasAmount   bool
	AmountMinor int64
	Currency    string
}

type confirmationJSON struct {
	Status      *string `json:"status"`
	ExternalRef *string `json:"external_ref"`
	PaidAt      *string `json:"paid_at"`
	Reason      *string `json:"reason"`
	Amount      *string `json:"amount"`
	Currency    *string `json:"currency"`
}

// ParseConfirmation reads {"status":"paid"|"failed","external_ref","paid_at","reason","amount","currency"}:
// one JSON object, no unknown or repeated fields, valid UTF-8, no trailing data. external_ref is required (it is the idempotency key);
// paid_at (RFC 3339) is required for paid and defaults to nothing for failed; reason is required for failed.
func ParseConfirmation(body []byte) (Confirmation, error) {
	if err := strictjson.Check(body); err != nil {
		var fe *strictjson.FieldError
		if errors.As(err, &fe) && fe.Field != "" {
			return Confirmation{}, &apperr.FieldError{Field: fe.Field, Message: fe.Message}
		}
		return Confirmation{}, &apperr.FieldError{Field: "body", Message: "is not one JSON object: " + err.Error()}
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	var j confirmationJSON
	if err := dec.Decode(&j); err != nil {
		return Confirmation{}, &apperr.FieldError{Field: "body", Message: "is not a JSON object of the confirmation: " + err.Error()}
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return Confirmation{}, &apperr.FieldError{Field: "body", Message: "has data after the JSON object"}
	}
	var c Confirmation
	str := func(p *string) string {
		if p == nil {
			return ""
		}
		return *p
	}
	c.Status, c.ExternalRef, c.Reason, c.Currency = str(j.Status), str(j.ExternalRef), str(j.Reason), str(j.Currency)
	switch c.Status {
	case ConfirmPaid, ConfirmFailed:
	default:
		return c, &apperr.FieldError{Field: "status", Message: fmt.Sprintf("%q is not paid or failed", c.Status)}
	}
	if err := text(c.ExternalRef, maxExternalRef); err != nil || c.ExternalRef == "" {
		if err == nil {
			err = errors.New("is required: the payment's reference in your payment system")
		}
		return c, &apperr.FieldError{Field: "external_ref", Message: err.Error()}
	}
	if err := text(c.Reason, maxReason); err != nil {
		return c, &apperr.FieldError{Field: "reason", Message: err.Error()}
	}
	if c.Status == ConfirmFailed && c.Reason == "" {
		return c, &apperr.FieldError{Field: "reason", Message: "is required when status is failed"}
	}
	if j.PaidAt != nil {
		t, err := time.Parse(time.RFC3339, *j.PaidAt)
		if err != nil {
			return c, &apperr.FieldError{Field: "paid_at", Message: fmt.Sprintf("%q is not an RFC 3339 time such as 2026-12-02T10:00:00Z", *j.PaidAt)}
		}
		if c.Status != ConfirmPaid {
			return c, &apperr.FieldError{Field: "paid_at", Message: "is only for status paid"}
		}
		c.PaidAt = t.UTC()
	}
	if c.Status == ConfirmPaid && c.PaidAt.IsZero() {
		return c, &apperr.FieldError{Field: "paid_at", Message: "is required when status is paid"}
	}
	if (j.Amount == nil) != (j.Currency == nil) {
		return c, &apperr.FieldError{Field: "amount", Message: "and currency go together: send both or neither"}
	}
	if j.Currency != nil {
		if !money.ValidCurrency(c.Currency) {
			return c, &apperr.FieldError{Field: "currency", Message: fmt.Sprintf("%q is not an ISO 4217 currency code", c.Currency)}
		}
		v, err := money.Parse(*j.Amount, c.Currency)
		if err != nil {
			return c, &apperr.FieldError{Field: "amount", Message: err.Error()}
		}
		c.HasAmount, c.AmountMinor = true, v
	}
	return c, nil
}

// text accepts printable text without surrounding white space, at most max bytes.
func text(s string, max int) error {
	if len(s) > max {
		return fmt.Errorf("is longer than %d bytes", max)
	}
	if strings.TrimSpace(s) != s {
		return errors.New("has surrounding white space")
	}
	for _, r := range s {
		if r < 0x20 || r == 0x7f || r == '\uFFFD' {
			return errors.New("has a control character or invalid UTF-8")
		}
	}
	return nil
}

// Matches reports whether a second confirmation is the same as the one recorded: the same outcome and
// external_ref. The same one again is answered as the first was; any other is a conflict.
func (c Confirmation) Matches(status, externalRef string) bool {
	return c.Status == status && c.ExternalRef == externalRef
}
