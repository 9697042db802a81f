package node

import (
	"encoding/json"
	"fmt"

	"github.com/valyala/fasthttp"

	"github.com/ringside-live/ringside/pkg/strictjson"
)

// problem answers an RFC 9457 problem+json error on the fasthttp routes
// (the admin API has its own, package admin).
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

// strictJSON decodes a body: one JSON value, no unknown fields, no key
// twice in an object (see strictjson).
func strictJSON(b []byte, v any) error {
	if err := strictjson.Decode(b, v); err != nil {
		return fmt.Errorf("bad JSON body: %w", err)
	}
	return nil
}

// writeJSON answers v as indented JSON, never cached.
func writeJSON(ctx *fasthttp.RequestCtx, status int, v any) {
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		problem(ctx, fasthttp.StatusInternalServerError, err.Error())
		return
	}
	ctx.SetStatusCode(status)
	ctx.SetContentType("application/json")
	ctx.Response.Header.Set("Cache-Control", "no-store")
	ctx.SetBody(append(b, '\n'))
}
