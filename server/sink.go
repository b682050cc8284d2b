package server

import (
	"io"
	"log/slog"
	"net/http"
	"sync"
	"time"

	"github.com/gin-gonic/gin"
)

// Sink is the dev demo's stand-in for an affiliate's tracker: it answers 200 and remembers what it received.
type Sink struct {
	Logger   *slog.Logger
	mu       sync.Mutex
	received []SinkRequest
}

// SinkRequest is one request the sink received.
type SinkRequest struct {
	At     time.Time `json:"at"`
	Method string    `json:"method"`
	URL    string    `json:"url"`
	Body   string    `json:"body,omitempty"`
}

const sinkKeep = 100

func (s *Sink) receive(c *gin.Context) {
	body, _ := io.ReadAll(io.LimitReader(c.Request.Body, 4<<10))
	r := SinkRequest{At: time.Now().UTC(), Method: c.Request.Method, URL: c.Request.URL.String(), Body: string(body)}
	s.mu.Lock()
	s.received = append(s.received, r)
	if len(s.received) > sinkKeep {
		s.received = s.received[len(s.received)-sinkKeep:]
	}
	s.mu.Unlock()
	s.Logger.Info("demo sink received a postback", "method", r.Method, "url", r.URL)
	c.JSON(http.StatusOK, gin.H{"ok": true})
}

func (s *Sink) list(c *gin.Context) {
	s.mu.Lock()
	defer s.mu.Unlock()
	c.JSON(http.StatusOK, gin.H{"received": append([]SinkRequest(nil), s.received...)})
}
