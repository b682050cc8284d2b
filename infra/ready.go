package infra

import (
	"context"
	"time"

	"go.temporal.io/sdk/client"

	"github.com/affrelay/affrelay/store"
)

// Readiness checks the dependencies the API needs: the database and Temporal.
type Readiness struct {
	Store    *store.Store
	Temporal client.Client
}

// DependencyCheck is one dependency's answer to a readiness check: Err is nil when it answered. Err is for the
// log; callers of /readyz only learn the dependency's name.
type DependencyCheck struct {
	Dependency string // "database" or "temporal"
	Err        error
}

// readyTimeout bounds each readiness check, so a hanging dependency reads as down instead of hanging the probe.
const readyTimeout = 3 * time.Second

// Check checks every dependency the API needs, each in turn: the database, then Temporal.
func (s Readiness) Check(ctx context.Context) []DependencyCheck {
	check := func(name string, f func(context.Context) error) DependencyCheck {
		ctx, cancel := context.WithTimeout(ctx, readyTimeout)
		defer cancel()
		return DependencyCheck{Dependency: name, Err: f(ctx)}
	}
	return []DependencyCheck{
		check("database", s.Store.Ping),
		check("temporal", func(ctx context.Context) error {
			_, err := s.Temporal.CheckHealth(ctx, &client.CheckHealthRequest{})
			return err
		}),
	}
}
