package server

import (
	"errors"
	"fmt"
	"log/slog"
	"net/http"

	"github.com/gin-gonic/gin"

	"github.com/affrelay/affrelay/apperr"
	"github.com/affrelay/affrelay/service/affiliates"
	"github.com/affrelay/affrelay/service/disputes"
)

// apiError is the one error shape of the API: {"error":{"code":"…","field":"…","message":"…"}}.
type apiError struct {
	Code    string `json:"code"`
	Field   string `json:"field,omitempty"`
	Message string `json:"message"`
}

func abort(c *gin.Context, status int, code, message string) {
	c.Set(ctxErrorCode, code)
	c.AbortWithStatusJSON(status, gin.H{"error": apiError{Code: code, Message: message}})
}

func abortField(c *gin.Context, field, message string) {
	c.Set(ctxErrorCode, "invalid_field")
	c.AbortWithStatusJSON(http.StatusBadRequest, gin.H{"error": apiError{Code: "invalid_field", Field: field, Message: field + " " + message}})
}

func internalError(c *gin.Context, logger *slog.Logger, err error) {
	logger.Error("request failed", "path", c.Request.URL.Path, "error", err)
	abort(c, http.StatusInternalServerError, "internal", "internal error; the request was not processed")
}

// serviceError maps the application services' errors to responses.
func serviceError(c *gin.Context, logger *slog.Logger, err error) {
	var fieldErr *apperr.FieldError
	switch {
	case errors.As(err, &fieldErr):
		abortField(c, fieldErr.Field, fieldErr.Message)
	case errors.Is(err, affiliates.ErrSignupNotStarted):
		logger.Error("affiliate signup not started", "error", err)
		abort(c, http.StatusServiceUnavailable, "signup_not_started", err.Error())
	case errors.Is(err, disputes.ErrNoSigningKey):
		abort(c, http.StatusServiceUnavailable, "evidence_key_not_configured", err.Error())
	case errors.Is(err, apperr.ErrNotFound):
		abort(c, http.StatusNotFound, "not_found", err.Error())
	case errors.Is(err, apperr.ErrConflict):
		abort(c, http.StatusConflict, "conflict", err.Error())
	case errors.Is(err, apperr.ErrUnauthorized):
		abort(c, http.StatusUnauthorized, "unauthorized", err.Error())
	default:
		internalError(c, logger, err)
	}
}

// listTooLong answers 400 naming the field when a list in a body has more than limit entries.
func listTooLong(c *gin.Context, field string, n, limit int) bool {
	if n <= limit {
		return false
	}
	abortField(c, field, fmt.Sprintf("lists %d entries; at most %d are allowed", n, limit))
	return true
}

// bodyError answers a body that could not be read: too large, or broken.
func bodyError(c *gin.Context, err error) {
	var tooLarge *http.MaxBytesError
	if errors.As(err, &tooLarge) {
		abort(c, http.StatusRequestEntityTooLarge, "body_too_large", "request body is larger than the limit")
		return
	}
	abort(c, http.StatusBadRequest, "malformed_body", err.Error())
}

// respondList answers a listing: every item rendered, under name; or the service's error.
func respondList[T, R any](c *gin.Context, logger *slog.Logger, name string, items []T, err error, render func(T) R) {
	if err != nil {
		serviceError(c, logger, err)
		return
	}
	out := make([]R, len(items))
	for i, item := range items {
		out[i] = render(item)
	}
	c.JSON(http.StatusOK, gin.H{name: out})
}
