// Package money converts between decimal amount strings and integer minor
// units (cents, fils, ...) of an ISO 4217 currency.
//
// Amounts are always an int64 count of minor units together with a currency
// code; floating point is never used, so no value is ever silently rounded.
package money

import (
	"fmt"
	"math"
	"strconv"
	"strings"
)

// maxAmountLen bounds the input to Parse. Any representable amount fits in
// 21 characters ("-92233720368547758.08"), so this leaves room for leading
// zeros while keeping hostile input cheap to reject.
const maxAmountLen = 32

// Parse parses a plain decimal string such as "50", "50.5", "50.00",
// "-12.30" or "0.01" into minor units of currency.
//
// The syntax is an optional '-', one or more ASCII digits, and optionally a
// '.' followed by one or more digits. Nothing else is accepted: no '+', no
// spaces, no exponents, no thousands separators. The fraction may have at
// most as many digits as the currency's minor unit; extra digits are an
// error rather than being rounded, even when they are zeros ("1.500" is
// rejected for USD). "-0" and similar parse as 0.
//
// Error messages are written to be shown verbatim to an API user.
func Parse(s, currency string) (int64, error) {
	digits, ok := MinorDigits(currency)
	if !ok {
		return 0, unknownCurrencyError(currency)
	}
	return parseScaled(s, digits, currency)
}

// ParseScaled parses s as Parse does, with digits decimal places in place of a currency's minor unit: a
// quantity such as traded lots ("1.25" with 2 digits is 125).
func ParseScaled(s string, digits int) (int64, error) { return parseScaled(s, digits, "") }

// parseScaled is Parse for digits decimal places; unit names them in errors ("" for none).
func parseScaled(s string, digits int, unit string) (int64, error) {
	if s == "" {
		return 0, fmt.Errorf("is empty")
	}
	if len(s) > maxAmountLen {
		// Don't echo the input: it may be arbitrarily large.
		return 0, fmt.Errorf("is longer than %d characters", maxAmountLen)
	}

	neg := s[0] == '-'
	unsigned := s
	if neg {
		unsigned = s[1:]
	}
	intPart, fracPart, hasPoint := strings.Cut(unsigned, ".")
	if intPart == "" || (hasPoint && fracPart == "") || !isDigits(intPart) || !isDigits(fracPart) {
		return 0, fmt.Errorf("%q is not a decimal number", s)
	}
	if len(fracPart) > digits {
		switch {
		case unit == "":
			return 0, fmt.Errorf("%q has more than %d decimal places", s, digits)
		case digits == 0:
			return 0, fmt.Errorf("%q has decimal places, but %s has none", s, unit)
		}
		return 0, fmt.Errorf("%q has more than %d decimal places for %s", s, digits, unit)
	}

	// The result is the integer formed by the integer digits, the fraction
	// digits and enough zeros to fill the minor unit. Accumulating the
	// magnitude as uint64 lets math.MinInt64 (whose magnitude exceeds
	// math.MaxInt64) round-trip through Format.
	limit := uint64(math.MaxInt64)
	if neg {
		limit++
	}
	var mag uint64
	push := func(d uint64) bool {
		if mag > (limit-d)/10 {
			return false
		}
		mag = mag*10 + d
		return true
	}
	for _, part := range [...]string{intPart, fracPart, strings.Repeat("0", digits-len(fracPart))} {
		for i := 0; i < len(part); i++ {
			if !push(uint64(part[i] - '0')) {
				return 0, fmt.Errorf("%q is too large", s)
			}
		}
	}
	if neg {
		// Unsigned negation wraps, so 1<<63 becomes math.MinInt64.
		return int64(-mag), nil
	}
	return int64(mag), nil
}

// Format renders minor units with exactly the currency's minor-unit digits:
// (5000, "USD") -> "50.00", (500, "JPY") -> "500", (-5, "USD") -> "-0.05",
// (1234, "KWD") -> "1.234". Parse accepts every string Format returns for a
// valid currency.
//
// currency must be valid (see ValidCurrency); for an unknown code Format
// cannot know where the decimal point goes and renders the bare count of
// minor units.
func Format(minor int64, currency string) string {
	digits, _ := MinorDigits(currency)
	return FormatScaled(minor, digits)
}

// FormatScaled renders v with digits decimal places, as Format does for a currency: (125, 2) -> "1.25".
func FormatScaled(minor int64, digits int) string {
	// Work on the unsigned magnitude so math.MinInt64 needs no int64
	// negation (which would overflow).
	mag := uint64(minor)
	if minor < 0 {
		mag = -mag
	}
	s := strconv.FormatUint(mag, 10)
	if digits > 0 {
		if len(s) <= digits {
			s = strings.Repeat("0", digits-len(s)+1) + s
		}
		s = s[:len(s)-digits] + "." + s[len(s)-digits:]
	}
	if minor < 0 {
		s = "-" + s
	}
	return s
}

func isDigits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

func unknownCurrencyError(currency string) error {
	const maxQuoted = 16 // keep hostile input out of error messages
	switch {
	case len(currency) > maxQuoted:
		return fmt.Errorf("unknown currency: not a 3-letter ISO 4217 code")
	case ValidCurrency(strings.ToUpper(currency)):
		return fmt.Errorf("unknown currency %q (codes are upper case: %q)", currency, strings.ToUpper(currency))
	default:
		return fmt.Errorf("unknown currency %q", currency)
	}
}
