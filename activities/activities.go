// Package activities holds every side effect of affrelay's workflows: database writes and HTTP deliveries.
package activities

import (
	"log/slog"
	"net"
	"net/http"
	"time"

	"github.com/affrelay/affrelay/retrypolicy"
	"github.com/affrelay/affrelay/store"
)

// Activities holds the dependencies of every activity; it is registered once per worker.
type Activities struct {
	Store  *store.Store
	HTTP   *http.Client
	Policy retrypolicy.Policy
	Logger *slog.Logger
}

// New builds the activities with a pooled, keep-alive HTTP client that never follows redirects.
func New(s *store.Store, policy retrypolicy.Policy, timeout time.Duration, logger *slog.Logger) *Activities {
	transport := &http.Transport{
		Proxy:                 http.ProxyFromEnvironment,
		DialContext:           (&net.Dialer{Timeout: timeout, KeepAlive: 30 * time.Second}).DialContext,
		MaxIdleConns:          256,
		MaxIdleConnsPerHost:   32,
		IdleConnTimeout:       90 * time.Second,
		TLSHandshakeTimeout:   timeout,
		ResponseHeaderTimeout: timeout,
	}
	return &Activities{
		Store:  s,
		Policy: policy,
		Logger: logger,
		HTTP: &http.Client{
			Transport: transport,
			Timeout:   timeout,
			// A redirect is the receiver's misconfiguration; following it could leak the payload elsewhere.
			CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
		},
	}
}
