package store

import (
	"context"
	"time"

	"gorm.io/gorm"
)

// ConversionQueries are the typed queries on recorded conversions and clicks, bound to one context.
type ConversionQueries struct{ db *gorm.DB }

// Conversions returns the conversion queries for ctx.
func (s *Store) Conversions(ctx context.Context) ConversionQueries {
	return ConversionQueries{db: s.DB.WithContext(ctx)}
}

// Recorded says whether the integration's event is recorded already (the lasting duplicate backstop).
func (q ConversionQueries) Recorded(integrationID, eventID string) (bool, error) {
	var n int64
	err := q.db.Model(&Conversion{}).Where("integration_id = ? AND event_id = ?", integrationID, eventID).Count(&n).Error
	return n > 0, err
}

// Unattributed lists conversions that occurred in [from, to) with no known affiliate, oldest first.
func (q ConversionQueries) Unattributed(from, to time.Time, limit int) ([]Conversion, error) {
	var rows []Conversion
	err := q.db.Where("occurred_at >= ? AND occurred_at < ? AND (affiliate_id = '' OR affiliate_id NOT IN (?))", from, to,
		q.db.Model(&Affiliate{}).Select("id")).Order("occurred_at, event_id").Limit(limit).Find(&rows).Error
	return rows, err
}

// CreateClick stores a click.
func (q ConversionQueries) CreateClick(c *Click) error { return q.db.Create(c).Error }
