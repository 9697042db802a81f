package node

import (
	_ "embed"

	"github.com/valyala/fasthttp"
)

// openapiJSON documents the admin API; TestOpenAPIMatchesRoutes keeps it
// and adminRoutes in step.
//
//go:embed openapi.json
var openapiJSON []byte

func (n *running) adminOpenAPI(ctx *fasthttp.RequestCtx, _ params) {
	ctx.SetContentType("application/json")
	ctx.SetBody(openapiJSON)
}
