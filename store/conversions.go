package store

import (
	"context"
	"time"

	"gorm.io/gorm"
	"gorm.io/gorm/clause"
)

// ConversionQueries are the typed queries on recorded conversions and clicks, bound to one context.
type ConversionQueries struct{ db *gorm.DB }

// Conversions returns the conversion queries for ctx.
func (s *Store) Conversions(ctx context.Context) ConversionQueries {
	return ConversionQueries{db: s.DB.WithContext(ctx)}
}

// Recorded says whether the integration's event is recorded already (the lasting duplicate backstop), and its status.
func (q ConversionQueries) Recorded(integrationID, eventID string) (status string, recorded bool, err error) {
	var statuses []string
	err = q.db.Model(&Conversion{}).Where("integration_id = ? AND event_id = ?", integrationID, eventID).Limit(1).Pluck("status", &statuses).Error
	if len(statuses) == 0 {
		return "", false, err
	}
	return statuses[0], true, err
}

// SetStatus changes a conversion's status, on behalf of the workflow named.
func (q ConversionQueries) SetStatus(id, status, workflowID string) error {
	return q.db.Model(&Conversion{ID: id}).Updates(map[string]any{"status": status, "status_workflow_id": workflowID}).Error
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

// Event loads the integration's recorded event; found false when there is none.
func (q ConversionQueries) Event(integrationID, eventID string) (Conversion, bool, error) {
	var c Conversion
	ok, err := found(q.db.Where("integration_id = ? AND event_id = ?", integrationID, eventID).Take(&c).Error)
	return c, ok, err
}

// Insert stores a conversion unless the integration's event is recorded (ON CONFLICT DO NOTHING) and says
// whether it did; when it did, c is the row as stored (RETURNING, so no read follows).
func (q ConversionQueries) Insert(c *Conversion) (bool, error) {
	res := q.db.Clauses(clause.OnConflict{DoNothing: true}, clause.Returning{}).Create(c)
	return res.RowsAffected == 1, res.Error
}

// FirstAttributed loads the player's first conversion of the integration attributed to a registered
// affiliate, by time and creation; found false when there is none.
func (q ConversionQueries) FirstAttributed(integrationID, playerID string) (Conversion, bool, error) {
	var c Conversion
	ok, err := found(q.db.Where("integration_id = ? AND player_id = ? AND affiliate_id IN (?)", integrationID, playerID,
		q.db.Model(&Affiliate{}).Select("id")).Order("occurred_at, created_at").Take(&c).Error)
	return c, ok, err
}

// Click loads one click of the integration; found false when there is none.
func (q ConversionQueries) Click(integrationID, clickID string) (Click, bool, error) {
	var c Click
	ok, err := found(q.db.Where("id = ? AND integration_id = ?", clickID, integrationID).Take(&c).Error)
	return c, ok, err
}

// WithUndoing lists a conversion and the integration's events that undo it, by id.
func (q ConversionQueries) WithUndoing(c Conversion) ([]Conversion, error) {
	var rows []Conversion
	err := q.db.Where("id = ? OR (integration_id = ? AND original_event_id = ?)", c.ID, c.IntegrationID, c.EventID).
		Order("id").Find(&rows).Error
	return rows, err
}

// EventIDs lists the event id of every recorded conversion.
func (q ConversionQueries) EventIDs() ([]string, error) {
	var ids []string
	return ids, q.db.Model(&Conversion{}).Pluck("event_id", &ids).Error
}

// InsertRequest stores the request an event was received in unless one is stored for it (a replay of the
// recording writes nothing).
func (q ConversionQueries) InsertRequest(r *ConversionRequest) error {
	return q.db.Clauses(clause.OnConflict{DoNothing: true}).Create(r).Error
}

// Request loads the request the integration's event was received in; found false when none is kept.
func (q ConversionQueries) Request(integrationID, eventID string) (ConversionRequest, bool, error) {
	var r ConversionRequest
	ok, err := found(q.db.Where("integration_id = ? AND event_id = ?", integrationID, eventID).Take(&r).Error)
	return r, ok, err
}

// PruneRequestsBefore deletes the requests received before before and returns how many went.
func (q ConversionQueries) PruneRequestsBefore(before time.Time) (int64, error) {
	res := q.db.Where("received_at < ?", before.UTC()).Delete(&ConversionRequest{})
	return res.RowsAffected, res.Error
}
