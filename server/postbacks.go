package server

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"mime"
	"net/http"
	"net/url"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/affrelay/affrelay/apperr"
	"github.com/affrelay/affrelay/evidence"
	"github.com/affrelay/affrelay/postback"
	"github.com/affrelay/affrelay/service/conversions"
	"github.com/affrelay/affrelay/strictjson"
)

// postback accepts a conversion as GET query, form POST or JSON POST, and answers once Temporal holds it.
func (h *handlers) postback(c *gin.Context) {
	defer func() {
		h.metrics.postbacks.WithLabelValues(postbackOutcome(c.Writer.Status(), c.GetBool(ctxDuplicate))).Inc()
	}()
	fields, err := postbackFields(c.Request, c.MustGet(ctxRawBody).([]byte))
	if err != nil {
		var fe *postback.FieldError
		switch {
		case errors.As(err, &fe):
			abortField(c, fe.Field, fe.Message)
		case errors.Is(err, errUnsupportedMedia):
			abort(c, http.StatusUnsupportedMediaType, "unsupported_media_type", err.Error())
		default:
			bodyError(c, err)
		}
		return
	}
	fields, err = c.MustGet(ctxMapping).(postback.Mapping).Apply(fields)
	var ev postback.Event
	if err == nil {
		ev, err = postback.ParseKeyed(fields, h.o.Now(), h.o.Postback.FutureSkew, c.GetString(ctxIdempotencyKey))
	}
	if err != nil {
		var fe *postback.FieldError
		if errors.As(err, &fe) {
			abortField(c, fe.Field, fe.Message)
			return
		}
		abort(c, http.StatusBadRequest, "invalid_request", err.Error())
		return
	}
	submitting := time.Now()
	sub, err := h.o.Conversions.SubmitPostback(c, c.GetString(ctxIntegrationID), ev, receivedRequest(c, h.o.Now()))
	h.metrics.timePhase(phaseSubmit, submitting)
	if errors.Is(err, apperr.ErrConflict) {
		abort(c, http.StatusConflict, "conflict", err.Error())
		return
	}
	if err != nil {
		// Nothing was acknowledged, so the sender retries; say so instead of a bare 500.
		h.o.Logger.Error("postback not accepted", "event_id", ev.EventID, "error", err)
		abort(c, http.StatusServiceUnavailable, "unavailable", "the event could not be stored durably; retry later")
		return
	}
	status := "accepted"
	switch {
	case sub.Duplicate:
		status = "duplicate"
		c.Set(ctxDuplicate, true)
	case sub.StatusChange:
		status = "status_changed"
	}
	c.JSON(http.StatusOK, conversions.Ack(status, ev.EventID, sub.WorkflowID))
}

// receivedRequest is the postback as received, credentials redacted, to keep as evidence (the service adds
// the answer).
func receivedRequest(c *gin.Context, at time.Time) *evidence.Request {
	r := evidence.Capture(evidence.Received{
		RequestID: c.GetString(ctxRequestID), Method: c.Request.Method, Path: c.Request.URL.EscapedPath(),
		RawQuery: c.Request.URL.RawQuery, Header: c.Request.Header, Body: c.MustGet(ctxRawBody).([]byte),
		ClientIP: c.GetString(ctxClientIP), At: at,
	}, evidence.Credentials{
		KeyID: c.GetString(ctxKeyID), SignatureHeader: security(c).SignatureHeader, SignatureVerdict: c.GetString(ctxSignatureVerdict),
	})
	return &r
}

var errUnsupportedMedia = errors.New("unsupported content type")

// postbackFields gathers the raw fields from the query string and, for POST, the form or JSON body, read
// once by bufferBody. A field given in both places is reported by postback.Parse as given more than once.
func postbackFields(r *http.Request, body []byte) (postback.Fields, error) {
	query, err := url.ParseQuery(r.URL.RawQuery)
	if err != nil {
		return nil, fmt.Errorf("query string: %w", err)
	}
	fields := postback.Fields(query)
	if r.Method != http.MethodPost {
		return fields, nil
	}
	if len(bytes.TrimSpace(body)) == 0 {
		return fields, nil
	}
	mediaType, _, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if err != nil {
		return nil, fmt.Errorf("%w: Content-Type %q; send application/json or application/x-www-form-urlencoded", errUnsupportedMedia, r.Header.Get("Content-Type"))
	}
	var more map[string][]string
	switch mediaType {
	case "application/x-www-form-urlencoded":
		more, err = url.ParseQuery(string(body))
		if err != nil {
			return nil, fmt.Errorf("form body: %w", err)
		}
	case "application/json":
		more, err = jsonFields(body)
		if err != nil {
			return nil, err
		}
	default:
		return nil, fmt.Errorf("%w: %s; send application/json or application/x-www-form-urlencoded", errUnsupportedMedia, mediaType)
	}
	for k, v := range more {
		fields[k] = append(fields[k], v...)
	}
	return fields, nil
}

// jsonFields reads a flat JSON object of strings and numbers. Numbers keep their literal text: money is never
// a float. A member given twice, a string that is not valid Unicode or a number beyond float64 is refused, as
// the query and form paths refuse the first two, not left to encoding/json (last one wins, U+FFFD).
func jsonFields(body []byte) (map[string][]string, error) {
	if err := strictjson.Check(body); err != nil {
		var fe *strictjson.FieldError
		if errors.As(err, &fe) && fe.Field != "" {
			return nil, &postback.FieldError{Field: fe.Field, Message: fe.Message}
		}
		return nil, fmt.Errorf("JSON body: %w", err)
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	var obj map[string]any
	if err := dec.Decode(&obj); err != nil {
		return nil, fmt.Errorf("JSON body: %w", err)
	}
	if obj == nil {
		return nil, errors.New("JSON body: must be an object")
	}
	out := make(map[string][]string, len(obj))
	for k, v := range obj {
		switch x := v.(type) {
		case string:
			out[k] = []string{x}
		case json.Number:
			out[k] = []string{x.String()}
		case nil:
		default:
			return nil, &postback.FieldError{Field: k, Message: "must be a string or a number"}
		}
	}
	return out, nil
}
