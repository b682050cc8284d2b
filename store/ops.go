package store

import (
	"context"
	"time"

	"gorm.io/gorm"
	"gorm.io/gorm/clause"
)

// OpsQueries are the typed queries on the queue alarms' stored states, bound to one context.
type OpsQueries struct{ db *gorm.DB }

// Ops returns the alarm queries for ctx.
func (s *Store) Ops(ctx context.Context) OpsQueries {
	return OpsQueries{db: s.DB.WithContext(ctx)}
}

// Alarms returns every stored alarm state, by key.
func (q OpsQueries) Alarms() ([]OpsAlarm, error) {
	var out []OpsAlarm
	return out, q.db.Order("key").Find(&out).Error
}

// SwitchAlarm moves the alarm key from !firing to firing at depth and plans the event announcing it
// (announce gets the change's sequence number), in one transaction. Another process that switched it first
// wins: switched is false and nothing is planned. It returns the event's pending deliveries.
func (q OpsQueries) SwitchAlarm(key string, firing bool, depth int64, at time.Time, announce func(seq int) WebhookEvent) (switched bool, pending []Delivery, err error) {
	err = q.db.Transaction(func(tx *gorm.DB) error {
		if err := tx.Clauses(clause.OnConflict{DoNothing: true}).Create(&OpsAlarm{Key: key, ChangedAt: at.UTC()}).Error; err != nil {
			return err
		}
		var a OpsAlarm
		if err := tx.Where("key = ?", key).Take(&a).Error; err != nil {
			return err
		}
		if a.Firing == firing {
			return nil
		}
		res := tx.Model(&OpsAlarm{}).Where("key = ? AND seq = ?", key, a.Seq).
			Updates(map[string]any{"firing": firing, "seq": a.Seq + 1, "depth": depth, "changed_at": at.UTC()})
		if res.Error != nil || res.RowsAffected == 0 {
			return res.Error
		}
		switched = true
		var err error
		pending, err = PlanWebhookEvent(tx, announce(a.Seq+1))
		return err
	})
	return switched, pending, err
}
