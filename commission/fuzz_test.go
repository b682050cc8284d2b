package commission

import (
	"math/big"
	"testing"
)

func FuzzParseDecimal(f *testing.F) {
	for _, s := range []string{"0", "25", "12.5", "1.08345", "0.00000001", "", ".", "1.", "-1", "1e3", "99999999999999999999", "1.123456789"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		v, err := ParseDecimal(s, RateDecimals)
		if err != nil {
			return
		}
		if v < 0 {
			t.Fatalf("%q parsed to negative %d", s, v)
		}
		back, err := ParseDecimal(FormatDecimal(v, RateDecimals), RateDecimals)
		if err != nil || back != v {
			t.Fatalf("%q → %d → %q → %d, %v", s, v, FormatDecimal(v, RateDecimals), back, err)
		}
	})
}

// FuzzMulDivRound checks the one rounding rule against exact rational arithmetic: the result is within half
// a unit of a·b/d, and exactly half-way cases go to the even neighbour.
func FuzzMulDivRound(f *testing.F) {
	f.Add(int64(5), int64(5000), int64(10000))
	f.Add(int64(-15), int64(5000), int64(10000))
	f.Add(int64(10000), int64(108345000), int64(100000000))
	f.Fuzz(func(t *testing.T, a, b, d int64) {
		if d <= 0 || a > 1<<40 || a < -(1<<40) || b > 1<<40 || b < -(1<<40) {
			return
		}
		got := MulDivRound(a, b, d)
		exact := new(big.Rat).SetFrac(new(big.Int).Mul(big.NewInt(a), big.NewInt(b)), big.NewInt(d))
		diff := new(big.Rat).Sub(new(big.Rat).SetInt64(got), exact)
		half := big.NewRat(1, 2)
		switch new(big.Rat).Abs(diff).Cmp(half) {
		case 1:
			t.Fatalf("%d×%d/%d = %d, off by %s", a, b, d, got, diff.FloatString(4))
		case 0:
			if got%2 != 0 {
				t.Fatalf("%d×%d/%d: half-way case rounded to odd %d", a, b, d, got)
			}
		}
	})
}
