package store

import (
	"context"
	"errors"
	"sort"
	"time"

	"gorm.io/gorm"
	"gorm.io/gorm/clause"
)

// InsertDelivery creates the delivery unless its id exists, loads the stored row into d, and reports whether
// it is still pending: a delivery that already finished (a replayed workflow) is not sent again.
func InsertDelivery(db *gorm.DB, d *Delivery) (bool, error) {
	res := db.Clauses(clause.OnConflict{DoNothing: true}, clause.Returning{}).Create(d)
	if res.Error != nil || res.RowsAffected == 1 {
		return res.Error == nil && d.Status == DeliveryPending, res.Error // RETURNING loaded the row as stored
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

// PlannedEventBody returns the body of a delivery planned for the event occurrence eventKey, in any state;
// planned is false when none was.
func PlannedEventBody(db *gorm.DB, eventKey string) (body string, planned bool, err error) {
	var d Delivery
	err = db.Select("body").Where("event_key = ?", eventKey).Order("id").Take(&d).Error
	if errors.Is(err, gorm.ErrRecordNotFound) {
		return "", false, nil
	}
	return d.Body, err == nil, err
}

// DeliveryQueries are the typed queries on deliveries and their attempts, bound to one context.
type DeliveryQueries struct{ db *gorm.DB }

// Deliveries returns the delivery queries for ctx.
func (s *Store) Deliveries(ctx context.Context) DeliveryQueries {
	return DeliveryQueries{db: s.DB.WithContext(ctx)}
}

// DeliveryFilter narrows a deliveries listing; empty fields match everything.
type DeliveryFilter struct {
	Status, AffiliateID, EventID, ConversionID string
	// From and To bound when it was planned: [From, To).
	From, To time.Time
	// After is the last delivery of the previous page: the listing goes on after it, newest first.
	After *Delivery
	Limit int
}

// ListByFilter lists deliveries, newest first (ties by id).
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
	if f.ConversionID != "" {
		db = db.Where("conversion_id = ?", f.ConversionID)
	}
	if !f.From.IsZero() {
		db = db.Where("created_at >= ?", f.From.UTC())
	}
	if !f.To.IsZero() {
		db = db.Where("created_at < ?", f.To.UTC())
	}
	if f.After != nil {
		db = db.Where("created_at < ? OR (created_at = ? AND id > ?)", f.After.CreatedAt, f.After.CreatedAt, f.After.ID)
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

// undelivered are the stored states of deliveries not yet delivered: the queue.
var undelivered = []string{DeliveryPending, DeliveryNeedsReview, DeliveryHeld}

// QueueStates are the states the queue depth counts.
var QueueStates = []string{DeliveryPending, DeliveryRetrying, DeliveryNeedsReview, DeliveryHeld}

// queueState is the state a queue row shows: a pending delivery with an attempt behind it is retrying.
const queueState = "CASE WHEN status = 'pending' AND attempts > 0 THEN 'retrying' ELSE status END"

// QueueDepth counts the deliveries not yet delivered, by state: pending (not attempted yet), retrying,
// needs_review and held.
func (q DeliveryQueries) QueueDepth() (map[string]int64, error) {
	var rows []struct {
		State string
		N     int64
	}
	err := q.db.Model(&Delivery{}).Select(queueState+" AS state, COUNT(*) AS n").
		Where("status IN ?", undelivered).Group(queueState).Scan(&rows).Error
	depth := map[string]int64{}
	for _, state := range QueueStates {
		depth[state] = 0
	}
	for _, r := range rows {
		depth[r.State] = r.N
	}
	return depth, err
}

// TargetDepth is the undelivered deliveries of one endpoint or subscription, by state.
type TargetDepth struct {
	Kind, TargetID, AffiliateID string
	ByState                     map[string]int64
	Total                       int64
}

// DepthByTarget counts the undelivered deliveries of every target that has any, largest first.
func (q DeliveryQueries) DepthByTarget() ([]TargetDepth, error) {
	var rows []struct {
		Kind, EndpointID, State string
		AffiliateID             string
		N                       int64
	}
	err := q.db.Model(&Delivery{}).
		Select("kind, endpoint_id, MAX(affiliate_id) AS affiliate_id, "+queueState+" AS state, COUNT(*) AS n").
		Where("status IN ?", undelivered).Group("kind, endpoint_id, " + queueState).Scan(&rows).Error
	if err != nil {
		return nil, err
	}
	index := map[string]int{}
	var out []TargetDepth
	for _, r := range rows {
		i, ok := index[r.EndpointID]
		if !ok {
			i = len(out)
			index[r.EndpointID] = i
			out = append(out, TargetDepth{Kind: r.Kind, TargetID: r.EndpointID, ByState: map[string]int64{}})
		}
		if r.Kind == DeliveryKindPostback {
			out[i].AffiliateID = r.AffiliateID
		}
		out[i].ByState[r.State] += r.N
		out[i].Total += r.N
	}
	sort.SliceStable(out, func(a, b int) bool {
		if out[a].Total != out[b].Total {
			return out[a].Total > out[b].Total
		}
		return out[a].TargetID < out[b].TargetID
	})
	return out, nil
}

// OldestPending returns when the oldest pending (or retrying) delivery was planned; nil when none is.
func (q DeliveryQueries) OldestPending() (*time.Time, error) {
	var d Delivery
	err := q.db.Select("created_at").Where("status = ?", DeliveryPending).Order("created_at").Take(&d).Error
	if errors.Is(err, gorm.ErrRecordNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	return &d.CreatedAt, nil
}

// FailingTarget is a target with deliveries retrying or in needs_review, and its last failed attempt.
type FailingTarget struct {
	Kind, TargetID string
	Failing        int64
	LastError      string
	LastStatusCode int
	LastAttemptAt  *time.Time
}

// TopFailingTargets returns the n targets with the most deliveries retrying or in needs_review, each with
// the error of its last failed attempt.
func (q DeliveryQueries) TopFailingTargets(n int) ([]FailingTarget, error) {
	var out []FailingTarget
	err := q.db.Model(&Delivery{}).Select("kind, endpoint_id AS target_id, COUNT(*) AS failing").
		Where("status = ? OR (status = ? AND attempts > 0)", DeliveryNeedsReview, DeliveryPending).
		Group("kind, endpoint_id").Order("failing DESC, target_id").Limit(n).Scan(&out).Error
	if err != nil {
		return nil, err
	}
	for i := range out {
		var a DeliveryAttempt
		err := q.db.Model(&DeliveryAttempt{}).Select("delivery_attempts.*").
			Joins("JOIN deliveries ON deliveries.id = delivery_attempts.delivery_id").
			Where("deliveries.endpoint_id = ? AND delivery_attempts.error <> ''", out[i].TargetID).
			Order("delivery_attempts.started_at DESC").Take(&a).Error
		if errors.Is(err, gorm.ErrRecordNotFound) {
			continue
		}
		if err != nil {
			return nil, err
		}
		at := a.StartedAt
		out[i].LastError, out[i].LastStatusCode, out[i].LastAttemptAt = a.Error, a.StatusCode, &at
	}
	return out, nil
}

// EnteredReviewSince counts the deliveries that are in needs_review and got there at or after since.
func (q DeliveryQueries) EnteredReviewSince(since time.Time) (int64, error) {
	var n int64
	err := q.db.Model(&Delivery{}).Where("status = ? AND updated_at >= ?", DeliveryNeedsReview, since.UTC()).Count(&n).Error
	return n, err
}

// RecordRefires stores operators' re-fires of deliveries.
func (q DeliveryQueries) RecordRefires(rs []DeliveryRefire) error {
	if len(rs) == 0 {
		return nil
	}
	return q.db.Create(&rs).Error
}

// RefiresOf returns the re-fires of the given deliveries, oldest first.
func (q DeliveryQueries) RefiresOf(deliveryIDs []string) ([]DeliveryRefire, error) {
	var rs []DeliveryRefire
	if len(deliveryIDs) == 0 {
		return nil, nil
	}
	return rs, q.db.Where("delivery_id IN ?", deliveryIDs).Order("delivery_id, id").Find(&rs).Error
}

// RefirableStatuses are the states a bulk re-fire takes: every state but pending (being attempted).
var RefirableStatuses = []string{DeliveryDelivered, DeliverySkipped, DeliveryNeedsReview, DeliveryHeld}

// RefireFilter selects the deliveries of a bulk re-fire; empty fields match everything. Statuses empty means
// RefirableStatuses. Only deliveries created at or before CreatedBefore (when the job was asked for) match.
type RefireFilter struct {
	Statuses      []string  `json:"statuses,omitempty"`
	AffiliateID   string    `json:"affiliate_id,omitempty"`
	EndpointID    string    `json:"endpoint_id,omitempty"`
	EventType     string    `json:"event_type,omitempty"`
	From          time.Time `json:"from,omitzero"`
	To            time.Time `json:"to,omitzero"`
	EventIDs      []string  `json:"event_ids,omitempty"`
	CreatedBefore time.Time `json:"created_before"`
}

func (f RefireFilter) apply(db *gorm.DB) *gorm.DB {
	statuses := f.Statuses
	if len(statuses) == 0 {
		statuses = RefirableStatuses
	}
	db = db.Where("status IN ? AND created_at <= ?", statuses, f.CreatedBefore.UTC())
	for col, v := range map[string]string{"affiliate_id": f.AffiliateID, "endpoint_id": f.EndpointID, "event_type": f.EventType} {
		if v != "" {
			db = db.Where(col+" = ?", v)
		}
	}
	if !f.From.IsZero() {
		db = db.Where("created_at >= ?", f.From.UTC())
	}
	if !f.To.IsZero() {
		db = db.Where("created_at < ?", f.To.UTC())
	}
	if len(f.EventIDs) > 0 {
		db = db.Where("event_id IN ?", f.EventIDs)
	}
	return db
}

// CountForRefire counts the deliveries f matches.
func (q DeliveryQueries) CountForRefire(f RefireFilter) (int64, error) {
	var n int64
	return n, f.apply(q.db.Model(&Delivery{})).Count(&n).Error
}

// RefirePage returns up to limit deliveries f matches after the id afterID, by id: their id, target,
// affiliate and status.
func (q DeliveryQueries) RefirePage(f RefireFilter, afterID string, limit int) ([]Delivery, error) {
	var ds []Delivery
	err := f.apply(q.db.Model(&Delivery{})).Select("id, kind, endpoint_id, affiliate_id, status").
		Where("id > ?", afterID).Order("id").Limit(limit).Find(&ds).Error
	return ds, err
}

// CreateRefireJob stores a new bulk re-fire job.
func (q DeliveryQueries) CreateRefireJob(j *RefireJob) error {
	return q.db.Create(j).Error
}

// DeleteRefireJob removes a job whose workflow could not be started.
func (q DeliveryQueries) DeleteRefireJob(id string) error {
	return q.db.Where("id = ?", id).Delete(&RefireJob{}).Error
}

// RefireJob loads one job; a missing one is apperr.ErrNotFound.
func (q DeliveryQueries) RefireJob(id string) (RefireJob, error) {
	var j RefireJob
	err := q.db.Where("id = ?", id).Take(&j).Error
	return j, NotFound(err, "refire job "+id)
}

// RecordRefireProgress stores a step of a job: its re-fires, and how many it re-fired and passed over. A step
// is recorded once: a retry after the commit finds the step's first re-fire and changes nothing.
func (q DeliveryQueries) RecordRefireProgress(jobID string, refires []DeliveryRefire, passed int64, at time.Time) error {
	return q.db.Transaction(func(tx *gorm.DB) error {
		if len(refires) > 0 {
			var n int64
			if err := tx.Model(&DeliveryRefire{}).Where("job_id = ? AND delivery_id = ?", jobID, refires[0].DeliveryID).Count(&n).Error; err != nil || n > 0 {
				return err
			}
			if err := tx.Create(&refires).Error; err != nil {
				return err
			}
		}
		return tx.Model(&RefireJob{}).Where("id = ?", jobID).Updates(map[string]any{
			"refired": gorm.Expr("refired + ?", len(refires)), "passed": gorm.Expr("passed + ?", passed), "updated_at": at.UTC(),
		}).Error
	})
}

// FinishRefireJob marks a job completed.
func (q DeliveryQueries) FinishRefireJob(id string, at time.Time) error {
	return q.db.Model(&RefireJob{}).Where("id = ? AND state = ?", id, RefireJobRunning).
		Updates(map[string]any{"state": RefireJobCompleted, "finished_at": at.UTC(), "updated_at": at.UTC()}).Error
}

// StoreAttempt writes attempt as d's next attempt and the delivery's new counters (its URL as sent, and when
// delivered its status) in one transaction, and returns the attempt's number. A delivered one also ends its
// target's run of failures when it has one (targetFailing): the happy path costs no extra statement. The
// delivery's row is updated first and its new count read back (RETURNING): one statement instead of a read
// and an update, and on PostgreSQL the row stays locked until the attempt is stored.
func (q DeliveryQueries) StoreAttempt(d Delivery, attempt DeliveryAttempt, delivered, targetFailing bool, now time.Time) (int, error) {
	err := q.db.Transaction(func(tx *gorm.DB) error {
		updates := map[string]any{"attempts": gorm.Expr("attempts + 1"), "last_status_code": attempt.StatusCode, "url": d.URL, "updated_at": now}
		if delivered {
			updates["status"] = DeliveryDelivered
			updates["status_reason"] = ""
			updates["delivered_at"] = attempt.StartedAt
			if targetFailing {
				model := tx.Model(&WebhookSubscription{})
				if d.Kind == DeliveryKindPostback {
					model = tx.Model(&PostbackEndpoint{})
				}
				if err := model.Where("id = ? AND consecutive_failures <> 0", d.EndpointID).Update("consecutive_failures", 0).Error; err != nil {
					return err
				}
			}
		}
		var current Delivery
		res := tx.Model(&current).Clauses(clause.Returning{Columns: []clause.Column{{Name: "attempts"}}}).Where("id = ?", d.ID).Updates(updates)
		if res.Error != nil {
			return res.Error
		}
		if res.RowsAffected == 0 {
			return gorm.ErrRecordNotFound
		}
		attempt.Number = current.Attempts
		return tx.Create(&attempt).Error
	})
	return attempt.Number, err
}

// SetStatus writes a delivery's status and why.
func (q DeliveryQueries) SetStatus(id, status, reason string, now time.Time) error {
	return q.db.Model(&Delivery{}).Where("id = ?", id).
		Updates(map[string]any{"status": status, "status_reason": reason, "updated_at": now}).Error
}

// Count counts the deliveries, all of them or (exceptStatus set) those not in exceptStatus.
func (q DeliveryQueries) Count(exceptStatus string) (int64, error) {
	db := q.db.Model(&Delivery{})
	if exceptStatus != "" {
		db = db.Where("status <> ?", exceptStatus)
	}
	var n int64
	return n, db.Count(&n).Error
}

// CountAttempts counts every stored delivery attempt.
func (q DeliveryQueries) CountAttempts() (int64, error) {
	var n int64
	return n, q.db.Model(&DeliveryAttempt{}).Count(&n).Error
}

// DiscardHeld gives up the held deliveries of a target for good (skipped, with the reason); it returns how many.
func (q DeliveryQueries) DiscardHeld(targetID, reason string, at time.Time) (int64, error) {
	res := q.db.Model(&Delivery{}).Where("endpoint_id = ? AND status = ?", targetID, DeliveryHeld).
		Updates(map[string]any{"status": DeliverySkipped, "status_reason": reason, "updated_at": at.UTC()})
	return res.RowsAffected, res.Error
}

// Unattempted returns up to limit deliveries of the event types that are pending, never attempted and planned
// before plannedBefore, oldest first.
func (q DeliveryQueries) Unattempted(eventTypes []string, plannedBefore time.Time, limit int) ([]Delivery, error) {
	var out []Delivery
	return out, q.db.Where("status = ? AND attempts = 0 AND event_type IN ? AND created_at < ?", DeliveryPending, eventTypes, plannedBefore.UTC()).
		Order("created_at, id").Limit(limit).Find(&out).Error
}
