package store

import (
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
