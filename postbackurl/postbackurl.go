// Package postbackurl validates and renders affiliate postback URL templates.
//
// An affiliate supplies a template such as
//
//	https://tracker.example/pb?cid={click_id}&p={payout}&cur={currency}&s1={sub1}
//
// and each {name} macro is replaced with the URL-encoded value of that name
// when a postback is sent.
package postbackurl

import (
	"errors"
	"fmt"
	"net/url"
	"slices"
	"strings"
	"unicode"
)

// Macro names usable as {name} in a template.
const (
	ClickID       = "click_id"       // the affiliate's click identifier
	Event         = "event"          // event type, e.g. "registration" or "deposit"
	EventID       = "event_id"       // our identifier of the event
	TransactionID = "transaction_id" // the operator's transaction identifier
	Payout        = "payout"         // commission owed to the affiliate, decimal
	Currency      = "currency"       // ISO 4217 code of payout and amount
	Amount        = "amount"         // transaction amount, decimal
	PlayerID      = "player_id"      // the operator's player identifier
	AffiliateID   = "affiliate_id"   // our affiliate identifier
	Sub1          = "sub1"           // affiliate sub-ID 1, echoed from the click
	Sub2          = "sub2"           // affiliate sub-ID 2, echoed from the click
	Sub3          = "sub3"           // affiliate sub-ID 3, echoed from the click
	Sub4          = "sub4"           // affiliate sub-ID 4, echoed from the click
	Sub5          = "sub5"           // affiliate sub-ID 5, echoed from the click
	Timestamp     = "timestamp"      // time of the event
	Volume        = "volume"         // a trade's volume in lots, decimal
	Instrument    = "instrument"     // a trade's instrument class
)

// MaxLen is the maximum length of a template in bytes.
const MaxLen = 2048

// names is never modified; Names hands out copies.
var names = [...]string{
	ClickID, Event, EventID, TransactionID, Payout, Currency, Amount,
	PlayerID, AffiliateID, Sub1, Sub2, Sub3, Sub4, Sub5, Timestamp, Volume, Instrument,
}

// Names lists every supported macro, in this order: click_id, event,
// event_id, transaction_id, payout, currency, amount, player_id,
// affiliate_id, sub1, sub2, sub3, sub4, sub5, timestamp, volume, instrument.
// The caller may modify the returned slice.
func Names() []string {
	return slices.Clone(names[:])
}

func isMacro(name string) bool {
	return slices.Contains(names[:], name)
}

// placeholder stands in for every macro when Validate parses a template.
// Any value is equivalent: Render only ever inserts url.QueryEscape output,
// which cannot change how the URL parses (see Validate's checks).
const placeholder = "x"

// Validate reports whether template is a usable postback URL template.
//
// A valid template is at most MaxLen bytes; contains no spaces or control
// characters; has a '%' only as part of a two-hex-digit escape; uses only
// supported macros, with balanced, non-nested braces; has no macro in the
// scheme, user info, host or port; and, with its macros filled in, is an
// absolute http or https URL with a host and no credentials (user info).
//
// Error messages name the problem precisely (e.g. "unknown macro {clickid}")
// and byte offsets are 0-based, so they can be shown to whoever typed the
// template.
func Validate(template string) error {
	if template == "" {
		return errors.New("template is empty")
	}
	if len(template) > MaxLen {
		return fmt.Errorf("template is %d bytes long; the limit is %d", len(template), MaxLen)
	}

	var macros []macro
	for i := 0; i < len(template); i++ {
		switch c := template[i]; {
		case c == ' ':
			return fmt.Errorf("template contains a space at byte %d; encode it as %%20", i)
		case c < ' ' || c == 0x7f:
			return fmt.Errorf("template contains a control character at byte %d", i)
		case c == '%':
			if i+2 >= len(template) || !isHex(template[i+1]) || !isHex(template[i+2]) {
				return fmt.Errorf("template has a %% at byte %d that is not followed by two hex digits; encode it as %%25", i)
			}
		case c == '}':
			return fmt.Errorf("template has an unmatched } at byte %d", i)
		case c == '{':
			end := strings.IndexAny(template[i+1:], "{}")
			if end < 0 {
				return fmt.Errorf("template has an unclosed { at byte %d", i)
			}
			end += i + 1
			if template[end] == '{' {
				return fmt.Errorf("template has a { at byte %d inside the macro opened at byte %d; macros cannot be nested", end, i)
			}
			name := template[i+1 : end]
			if name == "" {
				return fmt.Errorf("template has an empty macro {} at byte %d", i)
			}
			if !isMacro(name) {
				if strings.ContainsFunc(name, func(r rune) bool { return !unicode.IsPrint(r) }) {
					return fmt.Errorf("unknown macro %q", "{"+name+"}")
				}
				return fmt.Errorf("unknown macro {%s}", name)
			}
			macros = append(macros, macro{name: name, start: i})
			i = end
		}
	}

	// Macros may only fill in the path, query and fragment: a value must
	// never be able to choose where the postback is sent.
	if end := authorityEnd(template); end > 0 {
		for _, m := range macros {
			if m.start < end {
				return fmt.Errorf("macro {%s} is not allowed in the scheme or host of the URL", m.name)
			}
		}
	}

	// Braces are not valid in a URL, so parse the template with every macro
	// filled in.
	filled := Render(template, placeholderValues())
	u, err := url.Parse(filled)
	if err != nil {
		var urlErr *url.Error
		if errors.As(err, &urlErr) {
			err = urlErr.Err // drop the repeated URL
		}
		return fmt.Errorf("template is not a valid URL: %v", err)
	}
	switch u.Scheme {
	case "http", "https":
	case "":
		return errors.New("template must be an absolute URL starting with http:// or https://")
	default:
		return fmt.Errorf("template has scheme %q; only http and https are allowed", u.Scheme)
	}
	if u.Hostname() == "" {
		return errors.New("template URL has no host")
	}
	if u.User != nil {
		return errors.New("template URL must not carry credentials (user:password@host); they would be sent to every hop and logged")
	}
	return nil
}

// Render replaces every {name} in template, where name is a supported macro,
// with url.QueryEscape(values[name]); a missing value renders as the empty
// string. Everything else, including unknown or malformed {...}, is copied
// unchanged. Substitution is a single pass: braces inside a value are
// escaped and never expanded.
//
// Render does not validate template and never panics; call Validate first
// to be sure the result is a usable URL.
func Render(template string, values map[string]string) string {
	var b strings.Builder
	b.Grow(len(template))
	rest := template
	for {
		closing := strings.IndexByte(rest, '}')
		if closing < 0 {
			break
		}
		// The innermost '{' before the '}' is the only one that can open a
		// macro, since names contain no braces. Everything up to it is
		// literal, which keeps Render linear even on "{{{{...}".
		opening := strings.LastIndexByte(rest[:closing], '{')
		if opening >= 0 && isMacro(rest[opening+1:closing]) {
			b.WriteString(rest[:opening])
			b.WriteString(url.QueryEscape(values[rest[opening+1:closing]]))
		} else {
			b.WriteString(rest[:closing+1])
		}
		rest = rest[closing+1:]
	}
	b.WriteString(rest)
	return b.String()
}

// macro is one {name} occurrence in a template.
type macro struct {
	name  string
	start int // byte offset of '{'
}

// authorityEnd returns the byte offset in template where the scheme and, if
// present, the "//user@host:port" authority end, or 0 if template does not
// start with a scheme. Braces, macro names and escapes contain none of
// ":/?#", so offsets found in the raw template are also valid after
// rendering.
func authorityEnd(template string) int {
	colon := strings.IndexByte(template, ':')
	if colon < 0 || strings.ContainsAny(template[:colon], "/?#") {
		return 0 // no scheme: url.Parse reports it as relative
	}
	if !strings.HasPrefix(template[colon:], "://") {
		return colon
	}
	hostStart := colon + len("://")
	if n := strings.IndexAny(template[hostStart:], "/?#"); n >= 0 {
		return hostStart + n
	}
	return len(template)
}

func placeholderValues() map[string]string {
	values := make(map[string]string, len(names))
	for _, name := range names {
		values[name] = placeholder
	}
	return values
}

func isHex(c byte) bool {
	return '0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F'
}
