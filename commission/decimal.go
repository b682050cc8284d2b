package commission

import (
	"fmt"
	"math"
	"math/big"
	"strings"

	"github.com/affrelay/affrelay/money"
)

// RateDecimals is the precision of an FX rate: 1 EUR = 1.08345000 USD is held as 108345000.
const RateDecimals = 8

// ParseDecimal reads a non-negative decimal with at most decimals fraction digits as an integer scaled by
// 10^decimals: ParseDecimal("25.5", 2) = 2550. Like money.Parse it refuses rather than rounds extra digits.
func ParseDecimal(s string, decimals int) (int64, error) {
	intPart, frac, hasPoint := strings.Cut(s, ".")
	if intPart == "" || (hasPoint && frac == "") || !digitsOnly(intPart) || !digitsOnly(frac) {
		return 0, fmt.Errorf("%q is not a non-negative decimal number", s)
	}
	if len(frac) > decimals {
		return 0, fmt.Errorf("%q has more than %d decimal places", s, decimals)
	}
	var v int64
	for _, c := range intPart + frac + strings.Repeat("0", decimals-len(frac)) {
		d := int64(c - '0')
		if v > (math.MaxInt64-d)/10 {
			return 0, fmt.Errorf("%q is too large", s)
		}
		v = v*10 + d
	}
	return v, nil
}

// FormatDecimal is the inverse of ParseDecimal: FormatDecimal(2550, 2) = "25.50".
func FormatDecimal(v int64, decimals int) string {
	s := fmt.Sprintf("%0*d", decimals+1, v)
	if decimals == 0 {
		return s
	}
	return s[:len(s)-decimals] + "." + s[len(s)-decimals:]
}

func digitsOnly(s string) bool {
	for _, c := range s {
		if c < '0' || c > '9' {
			return false
		}
	}
	return true
}

// MulDivRound returns a*b/d rounded half to even (banker's rounding), exactly, for d > 0. Every division in
// commission math goes through it, so there is one rounding rule.
func MulDivRound(a, b, d int64) int64 {
	num := new(big.Int).Mul(big.NewInt(a), big.NewInt(b))
	return divRoundHalfEven(num, big.NewInt(d))
}

func divRoundHalfEven(num, den *big.Int) int64 {
	q, r := new(big.Int).QuoRem(num, den, new(big.Int)) // q truncated toward zero, r has num's sign
	twice := new(big.Int).Abs(r)
	twice.Lsh(twice, 1)
	switch twice.Cmp(den) {
	case 1:
		q.Add(q, big.NewInt(int64(num.Sign())))
	case 0:
		if q.Bit(0) == 1 {
			q.Add(q, big.NewInt(int64(num.Sign())))
		}
	}
	return q.Int64()
}

// Percent returns amount × rateBP / 10000, rounded half to even.
func Percent(amountMinor, rateBP int64) int64 { return MulDivRound(amountMinor, rateBP, 10000) }

// Convert turns amountMinor of currency from into currency to at rateE8 (units of to per unit of from,
// scaled by 10^RateDecimals), minding each currency's minor unit, rounded half to even.
func Convert(amountMinor int64, from, to string, rateE8 int64) (int64, error) {
	fromDigits, ok1 := money.MinorDigits(from)
	toDigits, ok2 := money.MinorDigits(to)
	if !ok1 || !ok2 {
		return 0, fmt.Errorf("convert %s to %s: unknown currency", from, to)
	}
	num := new(big.Int).Mul(big.NewInt(amountMinor), big.NewInt(rateE8))
	num.Mul(num, pow10(toDigits))
	den := new(big.Int).Mul(pow10(RateDecimals), pow10(fromDigits))
	return divRoundHalfEven(num, den), nil
}

func pow10(n int) *big.Int { return new(big.Int).Exp(big.NewInt(10), big.NewInt(int64(n)), nil) }
