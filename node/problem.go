package node

import (
	"encoding/json"

	"github.com/valyala/fasthttp"
)

// problem answers an RFC 9457 problem+json error.
func problem(ctx *fasthttp.RequestCtx, status int, detail string) {
	body, _ := json.Marshal(struct {
		Type   string `json:"type"`
		Title  string `json:"title"`
		Status int    `json:"status"`
		Detail string `json:"detail"`
	}{"about:blank", fasthttp.StatusMessage(status), status, detail})
	ctx.Response.ResetBody() // keep headers set before (Retry-After, Allow, WWW-Authenticate)
	ctx.SetStatusCode(status)
	ctx.SetContentType("application/problem+json")
	ctx.Response.Header.Set("Cache-Control", "no-store")
	ctx.SetBody(body)
}
