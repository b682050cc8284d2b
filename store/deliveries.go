package store

import (
	"context"

	"gorm.io/gorm"
	"gorm.io/gorm/clause"
)

// InsertDelivery creates the delivery unless its id exists, loads the stored row into d, and reports whether
// it is still pending: a delivery that already finished (a replayed workflow) is not sent again.
func InsertDelivery(db *gorm.DB, d *Delivery) (bool, error) {
	if err := db.Clauses(clause.OnConflict{DoNothing: true}).Create(d).Error; err != nil {
		return false, err
	}
	if err := db.Where("id = ?", d.ID).Take(d).Error; err != nil {
		return false, err
	}
	return d.Status == DeliveryPending, nil
}

// PendingDeliveries returns the pending deliveries of the given event occurrences, by id.
func PendingDeliveries(db *gorm.DB, eventKeys ...string) ([]Delivery, error) {
	var ds []Delivery
	err := db.Where("event_key IN ? AND status = ?", eventKeys, DeliveryPending).Order("id").Find(&ds).Error
	return ds, err
}

// DeliveryQueries are the typed queries on deliveries and their attempts, bound to one context.
type DeliveryQueries struct{ db *gorm.DB }

// Deliveries returns the delivery queries for ctx.
func (s *Store) Deliveries(ctx context.Context) DeliveryQueries {
	return DeliveryQueries{db: s.DB.WithContext(ctx)}
}

// DeliveryFilter narrows a deliveries listing; empty fields match everything.
type DeliveryFilter struct {
	Status, AffiliateID, EventID string
	Limit                        int
}

// ListByFilter lists deliveries, newest first.
func (q DeliveryQueries) ListByFilter(f DeliveryFilter) ([]Delivery, error) {
	db := q.db.Order("created_at DESC, id").Limit(f.Limit)
	if f.Status != "" {
		db = db.Where("status = ?", f.Status)
	}
	if f.AffiliateID != "" {
		db = db.Where("affiliate_id = ?", f.AffiliateID)
	}
	if f.EventID != "" {
		db = db.Where("event_id = ?", f.EventID)
	}
	var ds []Delivery
	return ds, db.Find(&ds).Error
}

// AttemptsOf returns the attempts of the given deliveries, by delivery and number.
func (q DeliveryQueries) AttemptsOf(deliveryIDs []string) ([]DeliveryAttempt, error) {
	var attempts []DeliveryAttempt
	if len(deliveryIDs) == 0 {
		return nil, nil
	}
	return attempts, q.db.Where("delivery_id IN ?", deliveryIDs).Order("delivery_id, number").Find(&attempts).Error
}

// Get loads one delivery; a missing one is apperr.ErrNotFound.
func (q DeliveryQueries) Get(id string) (Delivery, error) {
	var d Delivery
	err := q.db.Where("id = ?", id).Take(&d).Error
	return d, NotFound(err, "delivery "+id)
}

// QueueDepth counts the deliveries not yet delivered (pending, needs_review), by state.
func (q DeliveryQueries) QueueDepth() (map[string]int64, error) {
	var rows []struct {
		Status string
		N      int64
	}
	err := q.db.Model(&Delivery{}).Select("status, COUNT(*) AS n").
		Where("status IN ?", []string{DeliveryPending, DeliveryNeedsReview}).Group("status").Scan(&rows).Error
	depth := map[string]int64{}
	for _, r := range rows {
		depth[r.Status] = r.N
	}
	return depth, err
}
