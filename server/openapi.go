package server

import (
	_ "embed"
	"encoding/json"
	"fmt"
	"net/http"
	"sync"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/gin-gonic/gin"
)

// openapiYAML is the OpenAPI 3.1 document of every public route, kept by hand beside the routes.
//
//go:embed openapi.yaml
var openapiYAML []byte

// OpenAPI parses the embedded document (once); tests validate it and the answers of the API against it.
var OpenAPI = sync.OnceValues(func() (*openapi3.T, error) {
	doc, err := openapi3.NewLoader().LoadFromData(openapiYAML)
	if err != nil {
		return nil, fmt.Errorf("server/openapi.yaml: %w", err)
	}
	return doc, nil
})

// openapiJSON is the document as served at /openapi.json.
var openapiJSON = sync.OnceValues(func() ([]byte, error) {
	doc, err := OpenAPI()
	if err != nil {
		return nil, err
	}
	return json.Marshal(doc)
})

func serveOpenAPI(c *gin.Context) {
	doc, err := openapiJSON()
	if err != nil { // the document is embedded and tested: this is a build that should not have passed
		abort(c, http.StatusInternalServerError, "internal", err.Error())
		return
	}
	c.Data(http.StatusOK, "application/json", doc)
}
