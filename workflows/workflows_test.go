package workflows

import (
	"strings"
	"testing"
	"unicode/utf8"
)

func TestIDPart(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"evt-1", "evt-1"},
		{"dep 1001/a%b:c", "dep 1001/a%b:c"}, // printable ASCII, '%' and ':' included, is kept as it was
		{"café", "~u:Y2Fmw6k"},
		{"\xff\xfe", "~u:__4"},
		{"a\x00b", "~u:YQBi"},
		{"a\x7fb", "~u:YX9i"},
		{"~u:Y2Fmw6k", "~u:fnU6WTJGbXc2aw"}, // a plain id that looks encoded is encoded too, so it cannot collide
		{"", ""},
	} {
		got := IDPart(tc.in)
		if got != tc.want {
			t.Errorf("IDPart(%q) = %q, want %q", tc.in, got, tc.want)
		}
		back, err := ParseIDPart(got)
		if err != nil || back != tc.in {
			t.Errorf("ParseIDPart(%q) = %q, %v; want %q", got, back, err, tc.in)
		}
	}
	if got := ConversionWorkflowID("int_1", "café"); got != "conversion:int_1:~u:Y2Fmw6k" {
		t.Errorf("ConversionWorkflowID = %q", got)
	}
	if _, err := ParseIDPart("~u:Y2Fmw6l"); err == nil {
		t.Error("a non-canonical encoding must not parse")
	}
	// The longest event id (128 bytes of 4-byte runes) stays well inside the 300-character workflow id column.
	if n := len(ConversionWorkflowID("int_0123456789abcdef01234567", strings.Repeat("😀", 32))); n > 250 {
		t.Errorf("longest conversion workflow id has %d characters", n)
	}
}

// FuzzIDPart: every string has a part Temporal accepts, that parses back to it, and no two strings share one.
func FuzzIDPart(f *testing.F) {
	for _, s := range []string{"evt-1", "café", "\xff\xfe", "~u:", "~u:Y2Fmw6k", "a\x00"} {
		f.Add(s, s+"x")
	}
	f.Fuzz(func(t *testing.T, a, b string) {
		pa := IDPart(a)
		if !printableASCII(pa) || !utf8.ValidString(pa) {
			t.Fatalf("IDPart(%q) = %q is not printable ASCII", a, pa)
		}
		back, err := ParseIDPart(pa)
		if err != nil || back != a {
			t.Fatalf("ParseIDPart(IDPart(%q)) = %q, %v", a, back, err)
		}
		if a != b && pa == IDPart(b) {
			t.Fatalf("%q and %q share the part %q", a, b, pa)
		}
	})
}
