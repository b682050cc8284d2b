package webhook

import (
	"net/url"
	"strings"
	"testing"
	"time"
)

func TestValidateURL(t *testing.T) {
	for _, c := range []struct {
		url string
		ok  bool
	}{
		{"https://ops.example.com/hooks", true},
		{"http://127.0.0.1:8080/h?x=1", true},
		{"https://[::1]:9000/", true},
		{"", false},
		{"/hooks", false},
		{"ops.example.com/hooks", false},
		{"ftp://ops.example.com/", false},
		{"mailto:ops@example.com", false},
		{"https://", false},
		{"https://:80/", false},
		{"https://user:pw@ops.example.com/", false},
		{"https://ops.example.com/" + strings.Repeat("a", 2048), false},
		{"https://ops.example.com/%zz", false},
	} {
		if err := ValidateURL(c.url); (err == nil) != c.ok {
			t.Errorf("ValidateURL(%q) = %v, want ok=%v", c.url, err, c.ok)
		}
	}
}

func FuzzValidateURL(f *testing.F) {
	for _, s := range []string{"https://ops.example.com/hooks", "http://x", "/rel", "https://u@h/", "http://[::1", "https://:0"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, raw string) {
		if ValidateURL(raw) != nil {
			return
		}
		u, err := url.Parse(raw)
		if err != nil || !u.IsAbs() || u.Hostname() == "" || (u.Scheme != "http" && u.Scheme != "https") || u.User != nil {
			t.Fatalf("accepted %q, which is not an absolute http(s) URL with a host", raw)
		}
	})
}

func TestValidateEvents(t *testing.T) {
	for _, c := range []struct {
		kind   string
		events []string
		ok     bool
	}{
		{KindWebhook, []string{ConversionRecorded, CommissionCalculated}, true},
		{KindWebhook, EventTypes, true},
		{KindWebhook, nil, false},
		{KindWebhook, []string{"player.won"}, false},
		{KindWebhook, []string{Test}, false},
		{KindWebhook, []string{AffiliateCreated, AffiliateCreated}, false},
		{KindWebhook, []string{""}, false},
		{KindCRM, []string{AffiliateCreated}, true},
		{KindCRM, []string{ConversionRecorded}, false},
	} {
		if err := ValidateEvents(c.kind, c.events); (err == nil) != c.ok {
			t.Errorf("ValidateEvents(%s, %q) = %v, want ok=%v", c.kind, c.events, err, c.ok)
		}
	}
}

func TestMarshalIsTheOneEnvelope(t *testing.T) {
	at := time.Date(2026, 3, 4, 5, 6, 7, 890, time.FixedZone("CET", 3600))
	got, err := Marshal(CommissionCalculated, at, CommissionData{LedgerEntryID: "led_1", Commission: Money{Amount: "200.00", Currency: "USD"}})
	if err != nil {
		t.Fatal(err)
	}
	want := `{"type":"commission.calculated","timestamp":"2026-03-04T04:06:07Z","data":{"ledger_entry_id":"led_1","affiliate_id":"","conversion_id":"","integration_id":"","event_id":"","kind":"","commission":{"amount":"200.00","currency":"USD"}}}`
	if got != want {
		t.Fatalf("got  %s\nwant %s", got, want)
	}
}

func TestDeliveryIDIsStablePerEventAndSubscription(t *testing.T) {
	a := DeliveryID("conversion.recorded:cnv_1", "whs_1")
	if a != DeliveryID("conversion.recorded:cnv_1", "whs_1") {
		t.Fatal("same event and subscription must give the same id")
	}
	for _, other := range []string{DeliveryID("conversion.recorded:cnv_2", "whs_1"), DeliveryID("conversion.recorded:cnv_1", "whs_2"), DeliveryID("conversion.recorded:cnv_1whs_1", "")} {
		if other == a {
			t.Fatalf("different event or subscription gave the same id %s", a)
		}
	}
	if !strings.HasPrefix(a, "msg_") || len(a) != 28 {
		t.Fatalf("id %q is not msg_ and 24 hex digits", a)
	}
}

func TestCRMAttribution(t *testing.T) {
	data := AffiliateData{
		AffiliateID: "aff_1", Name: "Partner", Email: "p@example.com",
		Plan:  Plan{Type: "cpa", Amount: Money{Amount: "150.00", Currency: "EUR"}},
		Links: NewLinkParameters("https://t.example/c?aff={affiliate_id}&s1={sub1}", "aff_1", []string{"sub1"}),
	}
	if data.Links.TrackingLinkTemplate != "https://t.example/c?aff=aff_1&s1={sub1}" {
		t.Fatalf("template %q", data.Links.TrackingLinkTemplate)
	}
	crm := NewCRMAttribution(data)
	if crm.ExternalID != "aff_1" || strings.Join(crm.Tags, " ") != "affiliate affiliate_id:aff_1 plan:cpa" ||
		crm.Attributes["plan_amount"] != "150.00" || crm.Attributes["sub_id_names"] != "sub1" {
		t.Fatalf("unexpected CRM payload %+v", crm)
	}
}
