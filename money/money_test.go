package money

import (
	"math"
	"strings"
	"testing"
)

func TestMinorDigits(t *testing.T) {
	tests := []struct {
		currency string
		want     int
		wantOK   bool
	}{
		{"USD", 2, true},
		{"EUR", 2, true},
		{"GBP", 2, true},
		{"XCG", 2, true},
		{"ZWG", 2, true},
		{"BHD", 3, true},
		{"IQD", 3, true},
		{"JOD", 3, true},
		{"KWD", 3, true},
		{"LYD", 3, true},
		{"OMR", 3, true},
		{"TND", 3, true},
		{"BIF", 0, true},
		{"CLP", 0, true},
		{"DJF", 0, true},
		{"GNF", 0, true},
		{"ISK", 0, true},
		{"JPY", 0, true},
		{"KMF", 0, true},
		{"KRW", 0, true},
		{"PYG", 0, true},
		{"RWF", 0, true},
		{"UGX", 0, true},
		{"UYI", 0, true},
		{"VND", 0, true},
		{"VUV", 0, true},
		{"XAF", 0, true},
		{"XOF", 0, true},
		{"XPF", 0, true},
		{"CLF", 4, true},
		{"UYW", 4, true},
		{"usd", 0, false},
		{"Usd", 0, false},
		{"US", 0, false},
		{"USDD", 0, false},
		{"", 0, false},
		{"XYZ", 0, false},
		{"XAU", 0, false}, // no minor unit
		{"XXX", 0, false}, // no currency
		{"HRK", 0, false}, // withdrawn
	}
	for _, tt := range tests {
		got, ok := MinorDigits(tt.currency)
		if got != tt.want || ok != tt.wantOK {
			t.Errorf("MinorDigits(%q) = %d, %v; want %d, %v", tt.currency, got, ok, tt.want, tt.wantOK)
		}
		if v := ValidCurrency(tt.currency); v != tt.wantOK {
			t.Errorf("ValidCurrency(%q) = %v; want %v", tt.currency, v, tt.wantOK)
		}
	}
}

func TestCurrencyTable(t *testing.T) {
	if n := len(minorDigits); n < 150 {
		t.Errorf("currency table has %d codes; want the full ISO 4217 list (150+)", n)
	}
	for code, digits := range minorDigits {
		if len(code) != 3 || strings.Trim(code, "ABCDEFGHIJKLMNOPQRSTUVWXYZ") != "" {
			t.Errorf("code %q is not 3 upper-case letters", code)
		}
		switch digits {
		case 0, 2, 3, 4:
		default:
			t.Errorf("%s has %d minor digits; ISO 4217 uses 0, 2, 3 or 4", code, digits)
		}
	}
}

func TestParse(t *testing.T) {
	tests := []struct {
		s        string
		currency string
		want     int64
	}{
		{"50", "USD", 5000},
		{"50.5", "USD", 5050},
		{"50.00", "USD", 5000},
		{"1.50", "USD", 150},
		{"-12.30", "USD", -1230},
		{"0.01", "USD", 1},
		{"-0.05", "USD", -5},
		{"0", "USD", 0},
		{"-0", "USD", 0},
		{"-0.00", "USD", 0},
		{"007.5", "USD", 750},
		{"00000000000000000000000000000001", "USD", 100}, // 32 characters
		{"500", "JPY", 500},
		{"-500", "JPY", -500},
		{"1.234", "KWD", 1234},
		{"1.2", "KWD", 1200},
		{"0.0001", "CLF", 1},
		{"92233720368547758.07", "USD", math.MaxInt64},
		{"-92233720368547758.08", "USD", math.MinInt64},
		{"9223372036854775807", "JPY", math.MaxInt64},
		{"-9223372036854775808", "JPY", math.MinInt64},
		{"9223372036854775.807", "KWD", math.MaxInt64},
		{"922337203685477.5807", "UYW", math.MaxInt64},
	}
	for _, tt := range tests {
		got, err := Parse(tt.s, tt.currency)
		if err != nil || got != tt.want {
			t.Errorf("Parse(%q, %q) = %d, %v; want %d, nil", tt.s, tt.currency, got, err, tt.want)
		}
	}
}

func TestParseErrors(t *testing.T) {
	tests := []struct {
		s        string
		currency string
		wantErr  string
	}{
		{"", "USD", `is empty`},
		{" 1", "USD", `" 1" is not a decimal number`},
		{"1 ", "USD", `"1 " is not a decimal number`},
		{"1 000", "USD", `"1 000" is not a decimal number`},
		{"- 1", "USD", `"- 1" is not a decimal number`},
		{"+1", "USD", `"+1" is not a decimal number`},
		{"1e3", "USD", `"1e3" is not a decimal number`},
		{"1E3", "USD", `"1E3" is not a decimal number`},
		{"0x10", "USD", `"0x10" is not a decimal number`},
		{"NaN", "USD", `"NaN" is not a decimal number`},
		{"Inf", "USD", `"Inf" is not a decimal number`},
		{"-Inf", "USD", `"-Inf" is not a decimal number`},
		{"1,000", "USD", `"1,000" is not a decimal number`},
		{"1,5", "USD", `"1,5" is not a decimal number`},
		{".5", "USD", `".5" is not a decimal number`},
		{"5.", "USD", `"5." is not a decimal number`},
		{".", "USD", `"." is not a decimal number`},
		{"1.2.3", "USD", `"1.2.3" is not a decimal number`},
		{"1..2", "USD", `"1..2" is not a decimal number`},
		{"-", "USD", `"-" is not a decimal number`},
		{"--1", "USD", `"--1" is not a decimal number`},
		{"-.5", "USD", `"-.5" is not a decimal number`},
		{"1_000", "USD", `"1_000" is not a decimal number`},
		{"١٢", "USD", `"١٢" is not a decimal number`}, // Arabic-Indic digits
		{"1.500", "USD", `"1.500" has more than 2 decimal places for USD`},
		{"0.001", "USD", `"0.001" has more than 2 decimal places for USD`},
		{"1.2345", "KWD", `"1.2345" has more than 3 decimal places for KWD`},
		{"1.5", "JPY", `"1.5" has decimal places, but JPY has none`},
		{"1.0", "JPY", `"1.0" has decimal places, but JPY has none`},
		{"92233720368547758.08", "USD", `"92233720368547758.08" is too large`},
		{"-92233720368547758.09", "USD", `"-92233720368547758.09" is too large`},
		{"9223372036854775808", "JPY", `"9223372036854775808" is too large`},
		{"-9223372036854775809", "JPY", `"-9223372036854775809" is too large`},
		{"99999999999999999999", "USD", `"99999999999999999999" is too large`},
		{"000000000000000000000000000000001", "USD", `is longer than 32 characters`},
		{"1", "XYZ", `unknown currency "XYZ"`},
		{"1", "usd", `unknown currency "usd" (codes are upper case: "USD")`},
		{"1", "", `unknown currency ""`},
		{"1", "US DOLLARS PLEASE", `unknown currency: not a 3-letter ISO 4217 code`},
	}
	for _, tt := range tests {
		got, err := Parse(tt.s, tt.currency)
		if err == nil {
			t.Errorf("Parse(%q, %q) = %d, nil; want error %q", tt.s, tt.currency, got, tt.wantErr)
			continue
		}
		if err.Error() != tt.wantErr {
			t.Errorf("Parse(%q, %q) error = %q; want %q", tt.s, tt.currency, err, tt.wantErr)
		}
	}
}

func TestFormat(t *testing.T) {
	tests := []struct {
		minor    int64
		currency string
		want     string
	}{
		{5000, "USD", "50.00"},
		{5050, "USD", "50.50"},
		{1, "USD", "0.01"},
		{0, "USD", "0.00"},
		{-5, "USD", "-0.05"},
		{-1230, "USD", "-12.30"},
		{500, "JPY", "500"},
		{0, "JPY", "0"},
		{-500, "JPY", "-500"},
		{1234, "KWD", "1.234"},
		{1, "KWD", "0.001"},
		{1, "CLF", "0.0001"},
		{math.MaxInt64, "USD", "92233720368547758.07"},
		{math.MinInt64, "USD", "-92233720368547758.08"},
		{math.MinInt64, "JPY", "-9223372036854775808"},
		{math.MinInt64, "UYW", "-922337203685477.5808"},
		{1234, "XYZ", "1234"}, // unknown currency: bare minor units
	}
	for _, tt := range tests {
		if got := Format(tt.minor, tt.currency); got != tt.want {
			t.Errorf("Format(%d, %q) = %q; want %q", tt.minor, tt.currency, got, tt.want)
		}
	}
}

// TestFormatParseEveryCurrency checks the round trip at the edges of int64
// for every currency in the table.
func TestFormatParseEveryCurrency(t *testing.T) {
	values := []int64{math.MinInt64, math.MinInt64 + 1, -1, 0, 1, 99, 100, 1001, math.MaxInt64 - 1, math.MaxInt64}
	for currency := range minorDigits {
		for _, v := range values {
			s := Format(v, currency)
			got, err := Parse(s, currency)
			if err != nil || got != v {
				t.Errorf("Parse(Format(%d, %s) = %q) = %d, %v; want %d, nil", v, currency, s, got, err, v)
			}
		}
	}
}

var fuzzCurrencies = []string{"USD", "JPY", "KWD"}

func FuzzParse(f *testing.F) {
	for _, s := range []string{
		"50", "50.5", "50.00", "-12.30", "0.01", "-0", "007.5", "1.500", "1.234",
		"", "-", ".", "1.", ".1", "+1", "1e3", "NaN", "1,0", " 1",
		"92233720368547758.07", "-92233720368547758.08", "92233720368547758.08",
		"9223372036854775807", "-9223372036854775808", "9223372036854775.807",
		"00000000000000000000000000000001", "000000000000000000000000000000001",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		for _, currency := range fuzzCurrencies {
			v, err := Parse(s, currency)
			if err != nil {
				if v != 0 {
					t.Errorf("Parse(%q, %s) = %d with error %v; want 0", s, currency, v, err)
				}
				continue
			}
			formatted := Format(v, currency)
			back, err := Parse(formatted, currency)
			if err != nil || back != v {
				t.Errorf("Parse(%q, %s) = %d, but Parse(Format(...) = %q) = %d, %v", s, currency, v, formatted, back, err)
			}
		}
	})
}

func FuzzFormat(f *testing.F) {
	for _, v := range []int64{0, 1, -1, 5, -5, 100, 1234, math.MaxInt64, math.MinInt64, math.MinInt64 + 1} {
		f.Add(v)
	}
	f.Fuzz(func(t *testing.T, v int64) {
		for _, currency := range fuzzCurrencies {
			s := Format(v, currency)
			got, err := Parse(s, currency)
			if err != nil || got != v {
				t.Errorf("Parse(Format(%d, %s) = %q) = %d, %v; want %d, nil", v, currency, s, got, err, v)
			}
		}
	})
}
