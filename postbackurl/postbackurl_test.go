package postbackurl

import (
	"net/url"
	"slices"
	"strings"
	"testing"
)

func TestNames(t *testing.T) {
	want := []string{
		"click_id", "event", "event_id", "transaction_id", "payout", "currency", "amount",
		"player_id", "affiliate_id", "sub1", "sub2", "sub3", "sub4", "sub5", "timestamp", "volume", "instrument",
	}
	got := Names()
	if !slices.Equal(got, want) {
		t.Fatalf("Names() = %q; want %q", got, want)
	}
	got[0] = "mutated"
	if Names()[0] != ClickID {
		t.Error("modifying the result of Names changed the next result")
	}
}

func TestRender(t *testing.T) {
	tests := []struct {
		name     string
		template string
		values   map[string]string
		want     string
	}{
		{
			name:     "typical",
			template: "https://tracker.example/pb?cid={click_id}&p={payout}&cur={currency}&s1={sub1}",
			values:   map[string]string{ClickID: "abc123", Payout: "50.00", Currency: "USD", Sub1: "spring"},
			want:     "https://tracker.example/pb?cid=abc123&p=50.00&cur=USD&s1=spring",
		},
		{
			name:     "space",
			template: "https://t.example/?s={sub1}",
			values:   map[string]string{Sub1: "a b"},
			want:     "https://t.example/?s=a+b",
		},
		{
			name:     "query metacharacters",
			template: "https://t.example/?s={sub1}&x=1",
			values:   map[string]string{Sub1: "a&b=c#d/e?f"},
			want:     "https://t.example/?s=a%26b%3Dc%23d%2Fe%3Ff&x=1",
		},
		{
			name:     "unicode",
			template: "https://t.example/?s={sub1}",
			values:   map[string]string{Sub1: "café €"},
			want:     "https://t.example/?s=caf%C3%A9+%E2%82%AC",
		},
		{
			name:     "brace in value is not expanded",
			template: "https://t.example/?s={sub1}&c={click_id}",
			values:   map[string]string{Sub1: "{click_id}", ClickID: "abc"},
			want:     "https://t.example/?s=%7Bclick_id%7D&c=abc",
		},
		{
			name:     "repeated macro",
			template: "https://t.example/?a={click_id}&b={click_id}",
			values:   map[string]string{ClickID: "x1"},
			want:     "https://t.example/?a=x1&b=x1",
		},
		{
			name:     "adjacent macros",
			template: "https://t.example/?a={sub1}{sub2}{sub3}",
			values:   map[string]string{Sub1: "1", Sub2: "2", Sub3: "3"},
			want:     "https://t.example/?a=123",
		},
		{
			name:     "missing value",
			template: "https://t.example/?a={sub1}&b={sub2}",
			values:   map[string]string{Sub1: "1"},
			want:     "https://t.example/?a=1&b=",
		},
		{
			name:     "nil values",
			template: "https://t.example/?a={sub1}",
			want:     "https://t.example/?a=",
		},
		{
			name:     "macro in path",
			template: "https://t.example/pb/{click_id}/{event}",
			values:   map[string]string{ClickID: "a/b", Event: "deposit"},
			want:     "https://t.example/pb/a%2Fb/deposit",
		},
		{
			name:     "unknown macro left as is",
			template: "https://t.example/?a={clickid}&b={click_id}",
			values:   map[string]string{ClickID: "x", "clickid": "ignored"},
			want:     "https://t.example/?a={clickid}&b=x",
		},
		{
			name:     "macro names are case sensitive",
			template: "https://t.example/?a={CLICK_ID}",
			values:   map[string]string{ClickID: "x"},
			want:     "https://t.example/?a={CLICK_ID}",
		},
		{
			name:     "malformed braces left as is",
			template: "https://t.example/?a={{click_id}&b={sub1&c=}{}&d={",
			values:   map[string]string{ClickID: "x", Sub1: "y"},
			want:     "https://t.example/?a={x&b={sub1&c=}{}&d={",
		},
		{
			name:     "nested braces",
			template: "{click_{sub1}}",
			values:   map[string]string{Sub1: "id"},
			want:     "{click_id}",
		},
		{
			name:     "text outside macros copied unchanged",
			template: "https://t.example/a%20b?q=1+2&r=%zz&s={sub1}",
			values:   map[string]string{Sub1: "v"},
			want:     "https://t.example/a%20b?q=1+2&r=%zz&s=v",
		},
		{
			name:     "empty template",
			template: "",
			want:     "",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := Render(tt.template, tt.values); got != tt.want {
				t.Errorf("Render(%q) =\n%q; want\n%q", tt.template, got, tt.want)
			}
		})
	}
}

func TestValidate(t *testing.T) {
	valid := []string{
		"https://tracker.example/pb?cid={click_id}&p={payout}&cur={currency}&s1={sub1}",
		"http://tracker.example/pb",
		"https://tracker.example",
		"https://tracker.example:8443/pb/{click_id}?e={event}#{sub5}",
		"https://192.0.2.1/pb?c={click_id}",
		"https://[2001:db8::1]:8080/pb?c={click_id}",
		"https://tracker.example/?a={sub1}{sub2}&a2={sub1}",
		"https://tracker.example/%7Bliteral%7D?c={click_id}",
		"HTTPS://tracker.example/?c={click_id}",
		"https://tracker.example/?" + strings.Repeat("a", MaxLen-len("https://tracker.example/?")),
	}
	for _, tmpl := range valid {
		if err := Validate(tmpl); err != nil {
			t.Errorf("Validate(%q) = %v; want nil", tmpl, err)
		}
	}

	invalid := []struct {
		template string
		wantErr  string
	}{
		{"", "template is empty"},
		{"https://tracker.example/?" + strings.Repeat("a", MaxLen), "template is 2073 bytes long; the limit is 2048"},
		{"https://tracker.example/?c={clickid}", "unknown macro {clickid}"},
		{"https://tracker.example/?c={Click_ID}", "unknown macro {Click_ID}"},
		{"https://tracker.example/?c={ click_id }", "unknown macro { click_id }"},
		{"https://tracker.example/?c={click\x00id}", `unknown macro "{click\x00id}"`},
		{"https://tracker.example/?c={}", "template has an empty macro {} at byte 27"},
		{"https://tracker.example/?c={click_id", "template has an unclosed { at byte 27"},
		{"https://tracker.example/?c=click_id}", "template has an unmatched } at byte 35"},
		{"https://tracker.example/?c={sub{sub1}}", "template has a { at byte 31 inside the macro opened at byte 27; macros cannot be nested"},
		{"https://{sub1}.tracker.example/", "macro {sub1} is not allowed in the scheme or host of the URL"},
		{"https://tracker.{sub1}/", "macro {sub1} is not allowed in the scheme or host of the URL"},
		{"https://tracker.example:{sub1}/", "macro {sub1} is not allowed in the scheme or host of the URL"},
		{"https://{sub1}@tracker.example/", "macro {sub1} is not allowed in the scheme or host of the URL"},
		{"https://tracker.example{sub1}", "macro {sub1} is not allowed in the scheme or host of the URL"},
		{"{sub1}://tracker.example/", "macro {sub1} is not allowed in the scheme or host of the URL"},
		{"http{sub1}://tracker.example/", "macro {sub1} is not allowed in the scheme or host of the URL"},
		{"ftp://tracker.example/pb?c={click_id}", `template has scheme "ftp"; only http and https are allowed`},
		{"javascript:alert(1)", `template has scheme "javascript"; only http and https are allowed`},
		{"/pb?c={click_id}", "template must be an absolute URL starting with http:// or https://"},
		{"tracker.example/pb?c={click_id}", "template must be an absolute URL starting with http:// or https://"},
		{"//tracker.example/pb", "template must be an absolute URL starting with http:// or https://"},
		{"{click_id}", "template must be an absolute URL starting with http:// or https://"},
		{"https:///pb?c={click_id}", "template URL has no host"},
		{"https://user:pass@tracker.example/pb?c={click_id}", "template URL must not carry credentials (user:password@host); they would be sent to every hop and logged"},
		{"https://user@tracker.example/pb", "template URL must not carry credentials (user:password@host); they would be sent to every hop and logged"},
		{"https://:443/pb", "template URL has no host"},
		{"https:tracker.example", "template URL has no host"},
		{"https://tracker.example/p b", "template contains a space at byte 25; encode it as %20"},
		{"https://tracker.example/\npb", "template contains a control character at byte 24"},
		{"https://tracker.example/?a=100%", "template has a % at byte 30 that is not followed by two hex digits; encode it as %25"},
		{"https://tracker.example/?a=%{sub1}", "template has a % at byte 27 that is not followed by two hex digits; encode it as %25"},
		{"https://tracker.example/%zz", "template has a % at byte 24 that is not followed by two hex digits; encode it as %25"},
		{"https://tracker.example:port/", `template is not a valid URL: invalid port ":port" after host`},
	}
	for _, tt := range invalid {
		err := Validate(tt.template)
		if err == nil {
			t.Errorf("Validate(%q) = nil; want error %q", tt.template, tt.wantErr)
			continue
		}
		if err.Error() != tt.wantErr {
			t.Errorf("Validate(%q) =\n%q; want\n%q", tt.template, err, tt.wantErr)
		}
	}
}

func FuzzRender(f *testing.F) {
	for _, seed := range [][2]string{
		{"https://tracker.example/pb?cid={click_id}&p={payout}&cur={currency}&s1={sub1}", "abc"},
		{"https://t.example/pb/{click_id}#{sub1}", "a b&c=d#e/f?g"},
		{"https://t.example/?a={sub1}{sub2}", "{click_id}"},
		{"https://t.example/%41{sub1}", "%zz"},
		{"https://t.example/?a={{click_id}}", "日本"},
		{"https://{sub1}.t.example/", "evil.example/"},
		{"{click_id", "x"},
		{"}{", ""},
		{"", ""},
	} {
		f.Add(seed[0], seed[1])
	}
	f.Fuzz(func(t *testing.T, template, value string) {
		values := make(map[string]string)
		for _, name := range Names() {
			values[name] = value
		}
		rendered := Render(template, values)
		if !strings.Contains(template, "{") && rendered != template {
			t.Fatalf("Render(%q) = %q; want the template unchanged", template, rendered)
		}
		if Validate(template) != nil {
			return
		}
		u, err := url.Parse(rendered)
		if err != nil {
			t.Fatalf("template %q validated, but rendering with value %q gave %q: %v", template, value, rendered, err)
		}
		// A value must never change where the postback goes.
		want, err := url.Parse(Render(template, nil))
		if err != nil {
			t.Fatalf("template %q validated, but rendering with no values failed to parse: %v", template, err)
		}
		if u.Scheme != want.Scheme || u.User.String() != want.User.String() || u.Host != want.Host {
			t.Fatalf("value %q changed the destination of %q: got %s://%s, want %s://%s", value, template, u.Scheme, u.Host, want.Scheme, want.Host)
		}
	})
}

func FuzzValidate(f *testing.F) {
	for _, seed := range []string{
		"https://tracker.example/pb?cid={click_id}&p={payout}&cur={currency}&s1={sub1}",
		"https://tracker.example:8443/pb/{click_id}?e={event}#{sub5}",
		"https://[2001:db8::1]:8080/pb?c={click_id}",
		"https://{sub1}.tracker.example/",
		"ftp://tracker.example/",
		"https://t.example/?a={sub{sub1}}",
		"https://t.example/?a=%{sub1}",
		"http:{sub1}//t.example",
		"{",
		"}",
		"",
	} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, template string) {
		if err := Validate(template); err != nil {
			return
		}
		if len(template) > MaxLen {
			t.Fatalf("Validate accepted a %d-byte template", len(template))
		}
		u, err := url.Parse(Render(template, nil))
		if err != nil {
			t.Fatalf("Validate(%q) = nil, but the rendered URL does not parse: %v", template, err)
		}
		if (u.Scheme != "http" && u.Scheme != "https") || u.Hostname() == "" {
			t.Fatalf("Validate(%q) = nil, but the rendered URL is %q", template, u)
		}
	})
}
