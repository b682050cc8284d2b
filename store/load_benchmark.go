package store

import "context"

// CreateSchema creates a PostgreSQL schema, so a load benchmark runs on tables of its own.
func (s *Store) CreateSchema(ctx context.Context, name string) error {
	return s.DB.WithContext(ctx).Exec("CREATE SCHEMA " + name).Error
}

// DropSchema drops a PostgreSQL schema made by CreateSchema, with its tables.
func (s *Store) DropSchema(ctx context.Context, name string) error {
	return s.DB.WithContext(ctx).Exec("DROP SCHEMA IF EXISTS " + name + " CASCADE").Error
}

// AttemptedDeliveries counts an affiliate's deliveries that have been attempted at least once and are not
// delivered: the deliveries waiting for their next attempt.
func (s *Store) AttemptedDeliveries(ctx context.Context, affiliateID string) (int64, error) {
	var n int64
	err := s.DB.WithContext(ctx).Model(&Delivery{}).
		Where("affiliate_id = ? AND attempts >= 1 AND status <> ?", affiliateID, DeliveryDelivered).Count(&n).Error
	return n, err
}
