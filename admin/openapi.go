package admin

import (
	_ "embed"
	"net/http"
)

// openapiJSON documents the API; TestOpenAPIMatchesRoutes keeps it and the
// route table in step.
//
//go:embed openapi.json
var openapiJSON []byte

func (a *API) openAPI(c *call) {
	c.w.Header().Set("Content-Type", "application/json")
	c.w.WriteHeader(http.StatusOK)
	c.w.Write(openapiJSON)
}
