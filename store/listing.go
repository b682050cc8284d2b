package store

import (
	"time"

	"gorm.io/gorm"
)

// ListPage is one page of an admin listing in id order: the rows after After (the last id of the previous
// page), at most Limit, created in [From, To) when those are set.
type ListPage struct {
	After    string
	Limit    int
	From, To time.Time
}

func (p ListPage) apply(db *gorm.DB) *gorm.DB {
	db = db.Where("id > ?", p.After).Order("id").Limit(p.Limit)
	if !p.From.IsZero() {
		db = db.Where("created_at >= ?", p.From.UTC())
	}
	if !p.To.IsZero() {
		db = db.Where("created_at < ?", p.To.UTC())
	}
	return db
}

// ListIntegrations returns a page of integrations.
func (q IntegrationQueries) ListIntegrations(p ListPage) ([]Integration, error) {
	var out []Integration
	return out, p.apply(q.db).Find(&out).Error
}

// ListEndpoints returns a page of postback endpoints, of one affiliate when affiliateID is set.
func (q AffiliateQueries) ListEndpoints(affiliateID string, p ListPage) ([]PostbackEndpoint, error) {
	db := p.apply(q.db)
	if affiliateID != "" {
		db = db.Where("affiliate_id = ?", affiliateID)
	}
	var out []PostbackEndpoint
	return out, db.Find(&out).Error
}

// DeleteEndpoint removes an affiliate's postback endpoint. Its held deliveries are skipped (nothing can send
// them now); its pending ones go to needs_review at their next attempt, which finds it gone.
func (q AffiliateQueries) DeleteEndpoint(id string, at time.Time) error {
	return q.db.Transaction(func(tx *gorm.DB) error {
		if err := tx.Model(&Delivery{}).Where("endpoint_id = ? AND status = ?", id, DeliveryHeld).
			Updates(map[string]any{"status": DeliverySkipped, "status_reason": "its postback endpoint was deleted", "updated_at": at.UTC()}).Error; err != nil {
			return err
		}
		return tx.Where("id = ?", id).Delete(&PostbackEndpoint{}).Error
	})
}
