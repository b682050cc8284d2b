package server

import (
	"encoding/json"
	"net/http"
	"sync"

	"github.com/gin-gonic/gin"

	"github.com/affrelay/affrelay/postback"
	"github.com/affrelay/affrelay/store"
)

// Context keys of the integration's dialect, set at authentication.
const (
	ctxMapping        = "postback_mapping"
	ctxIdempotencyKey = "idempotency_key"
)

// mappingJSON is the body of PUT /v1/admin/integrations/{id}/mapping.
type mappingJSON struct {
	postback.Mapping
	// IdempotencyKey is event_id or click_id; omitted keeps the integration's current key.
	IdempotencyKey string `json:"idempotency_key,omitempty"`
}

func (h *handlers) setMapping(c *gin.Context) {
	var req mappingJSON
	if !decodeJSON(c, &req) {
		return
	}
	in, err := h.o.Integrations.SetPostbackMapping(c, c.Param("id"), req.Mapping, req.IdempotencyKey)
	if err != nil {
		serviceError(c, h.o.Logger, err)
		return
	}
	c.JSON(http.StatusOK, integrationResponse(in))
}

// mappingFields are the dialect members of an integration's answer: the mapping as set, the rules it
// resolves to (its preset's entries merged in), and the idempotency key.
func mappingFields(in store.Integration, out gin.H) {
	var set postback.Mapping
	if in.PostbackMapping != "" {
		_ = json.Unmarshal([]byte(in.PostbackMapping), &set) // validated when set
	}
	resolved, _ := set.Resolve()
	out["postback_mapping"], out["postback_mapping_resolved"], out["idempotency_key"] = set, resolved, in.IdempotencyKey
}

// mappingCache keeps each integration's parsed mapping beside the stored text it came from, so a postback
// reads its dialect with the integration at authentication and parses it only when it changed.
type mappingCache struct {
	byIntegration sync.Map // integration id → cachedMapping
}

type cachedMapping struct {
	stored  string
	mapping postback.Mapping
}

func (m *mappingCache) get(in store.Integration) (postback.Mapping, error) {
	if v, ok := m.byIntegration.Load(in.ID); ok && v.(cachedMapping).stored == in.PostbackMapping {
		return v.(cachedMapping).mapping, nil
	}
	parsed, err := postback.ParseMapping(in.PostbackMapping)
	if err != nil {
		return parsed, err
	}
	m.byIntegration.Store(in.ID, cachedMapping{stored: in.PostbackMapping, mapping: parsed})
	return parsed, nil
}
