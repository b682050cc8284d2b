package server

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"reflect"
	"strings"

	"github.com/gin-gonic/gin"

	"github.com/affrelay/affrelay/strictjson"
)

// decodeJSON reads a JSON body into dst. Every JSON body is bound here, so every one is refused alike for a
// member given twice, a string that is not valid Unicode (strictjson.Check) and an unknown field (a typo is an
// error, not a silent default). False means it answered.
func decodeJSON(c *gin.Context, dst any) bool {
	body, err := io.ReadAll(c.Request.Body)
	if err != nil {
		bodyError(c, err)
		return false
	}
	if !checkJSON(c, body) {
		return false
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(dst); err != nil {
		var typeErr *json.UnmarshalTypeError
		if errors.As(err, &typeErr) {
			abortField(c, jsonPath(dst, typeErr.Field), "must be a "+typeErr.Type.String())
			return false
		}
		abort(c, http.StatusBadRequest, "malformed_body", "invalid JSON: "+err.Error())
		return false
	}
	return true
}

// jsonPath is a type error's field as the client wrote it, without the names of the Go structs embedded in
// dst (ownLimitsRequest.max_rps is max_rps): their members are the body's own.
func jsonPath(dst any, field string) string {
	embedded := map[string]bool{}
	var collect func(t reflect.Type)
	collect = func(t reflect.Type) {
		for t.Kind() == reflect.Pointer {
			t = t.Elem()
		}
		if t.Kind() != reflect.Struct {
			return
		}
		for i := range t.NumField() {
			if f := t.Field(i); f.Anonymous {
				embedded[f.Name] = true
				collect(f.Type)
			}
		}
	}
	collect(reflect.TypeOf(dst))
	parts := strings.Split(field, ".")
	kept := parts[:0]
	for _, p := range parts {
		if !embedded[p] {
			kept = append(kept, p)
		}
	}
	return strings.Join(kept, ".")
}

// checkJSON answers 400 unless body is exactly one JSON value that strictjson.Check lets through.
func checkJSON(c *gin.Context, body []byte) bool {
	err := strictjson.Check(body)
	var fe *strictjson.FieldError
	switch {
	case err == nil:
		return true
	case errors.As(err, &fe) && fe.Field != "":
		abortField(c, fe.Field, fe.Message)
	case errors.As(err, &fe):
		abort(c, http.StatusBadRequest, "malformed_body", "request body "+fe.Message)
	case len(bytes.TrimSpace(body)) == 0:
		abort(c, http.StatusBadRequest, "malformed_body", "request body must be a JSON object")
	default:
		abort(c, http.StatusBadRequest, "malformed_body", "invalid JSON: "+err.Error())
	}
	return false
}
