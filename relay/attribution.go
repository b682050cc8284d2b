package relay

import (
	"context"
	"fmt"
	"net/url"
	"strings"
	"time"

	"github.com/affrelay/affrelay/apperr"
	"github.com/affrelay/affrelay/store"
)

// SetLandingHosts replaces the hosts tracking links may send visitors to for an integration's brand.
func (s *Service) SetLandingHosts(ctx context.Context, integrationID string, hosts []string) (store.Integration, error) {
	var in store.Integration
	db := s.Store.DB.WithContext(ctx)
	if err := db.Where("id = ?", integrationID).Take(&in).Error; err != nil {
		return in, store.NotFound(err, "integration "+integrationID)
	}
	in.LandingHosts = strings.Join(hosts, ",")
	return in, db.Model(&in).Update("landing_hosts", in.LandingHosts).Error
}

// RecordClick records a visit through a tracking link and returns the URL to redirect to: the landing URL
// with click_id added. The landing host must be on an integration's allowlist (no open redirect); the click
// belongs to that integration. An unknown affiliate code is recorded as it is: the click shows up later as
// unattributed rather than being lost.
func (s *Service) RecordClick(ctx context.Context, affiliateCode string, subs [5]string, landing string) (store.Click, string, error) {
	u, err := url.Parse(landing)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" || u.User != nil {
		return store.Click{}, "", apperr.Invalid("to", fmt.Sprintf("landing URL not allowed: %q is not an absolute http(s) URL without credentials", landing))
	}
	host := strings.ToLower(u.Hostname())
	var candidates []store.Integration
	if err := s.Store.DB.WithContext(ctx).Where("landing_hosts LIKE ?", "%"+host+"%").Order("id").Find(&candidates).Error; err != nil {
		return store.Click{}, "", err
	}
	integrationID := ""
	for _, in := range candidates {
		for _, h := range strings.Split(in.LandingHosts, ",") {
			if h == host && integrationID == "" {
				integrationID = in.ID
			}
		}
	}
	if integrationID == "" {
		return store.Click{}, "", apperr.Invalid("to", "landing URL not allowed: "+host+" is not on any integration's landing host allowlist")
	}
	c := store.Click{
		ID: store.NewID("clk"), AffiliateID: affiliateCode, IntegrationID: integrationID, LandingURL: landing,
		Sub1: subs[0], Sub2: subs[1], Sub3: subs[2], Sub4: subs[3], Sub5: subs[4],
	}
	if err := s.Store.DB.WithContext(ctx).Create(&c).Error; err != nil {
		return c, "", err
	}
	q := u.Query()
	q.Set("click_id", c.ID)
	u.RawQuery = q.Encode()
	return c, u.String(), nil
}

// Unattributed is a recorded conversion that earns no affiliate, and why.
type Unattributed struct {
	store.Conversion
	Reason string
}

// UnattributedConversions lists conversions recorded in [from, to) that belong to no known affiliate.
func (s *Service) UnattributedConversions(ctx context.Context, from, to time.Time, limit int) ([]Unattributed, error) {
	var rows []store.Conversion
	db := s.Store.DB.WithContext(ctx)
	err := db.Where("occurred_at >= ? AND occurred_at < ? AND (affiliate_id = '' OR affiliate_id NOT IN (?))", from, to,
		db.Model(&store.Affiliate{}).Select("id")).Order("occurred_at, event_id").Limit(limit).Find(&rows).Error
	out := make([]Unattributed, len(rows))
	for i, c := range rows {
		out[i] = Unattributed{Conversion: c, Reason: unattributedReason(c)}
	}
	return out, err
}

func unattributedReason(c store.Conversion) string {
	switch {
	case c.AffiliateID != "":
		return "unknown affiliate " + c.AffiliateID
	case c.ClickID != "":
		return "unknown click " + c.ClickID
	case c.OriginalEventID != "":
		return "original event " + c.OriginalEventID + " unknown or unattributed"
	}
	return "no affiliate_id or click_id"
}
