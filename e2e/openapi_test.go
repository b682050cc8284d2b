package e2e

import (
	"bytes"
	"fmt"
	"io"
	"net/http"
	"sync"

	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers"
	"github.com/getkin/kin-openapi/routers/gorillamux"

	"github.com/affrelay/affrelay/server"
)

// apiClient is the harness's HTTP client: every answer of a documented route is validated against
// server/openapi.yaml (status, headers, body schema), and one that does not match fails the request, so the
// test that sent it fails with the mismatch.
var apiClient = sync.OnceValue(func() *http.Client {
	doc, err := server.OpenAPI()
	if err != nil {
		panic(err)
	}
	router, err := gorillamux.NewRouter(doc)
	if err != nil {
		panic(err)
	}
	return &http.Client{Transport: openapiChecked{base: http.DefaultTransport, router: router}}
})

type openapiChecked struct {
	base   http.RoundTripper
	router routers.Router
}

func (o openapiChecked) RoundTrip(req *http.Request) (*http.Response, error) {
	resp, err := o.base.RoundTrip(req)
	if err != nil {
		return resp, err
	}
	route, params, err := o.router.FindRoute(req)
	if err != nil { // a path or method the API does not serve (the hostile tests send those): nothing documents it
		return resp, nil
	}
	body, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil {
		return nil, err
	}
	resp.Body = io.NopCloser(bytes.NewReader(body))
	err = openapi3filter.ValidateResponse(req.Context(), &openapi3filter.ResponseValidationInput{
		RequestValidationInput: &openapi3filter.RequestValidationInput{Request: req, PathParams: params, Route: route},
		Status:                 resp.StatusCode,
		Header:                 resp.Header,
		Body:                   io.NopCloser(bytes.NewReader(body)),
		Options:                &openapi3filter.Options{IncludeResponseStatus: true, MultiError: true},
	})
	if err != nil {
		return nil, fmt.Errorf("%s %s answered %d, which server/openapi.yaml does not describe: %w\nbody: %.1000s",
			req.Method, route.Path, resp.StatusCode, err, body)
	}
	return resp, nil
}
