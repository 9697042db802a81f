package node

import (
	"encoding/json"

	"github.com/valyala/fasthttp"
)

// fieldError names one wrong field of a request.
type fieldError struct {
	Field   string `json:"field"`
	Message string `json:"message"`
}

// problem answers an RFC 9457 problem+json error.
func problem(ctx *fasthttp.RequestCtx, status int, detail string) {
	fieldsProblem(ctx, status, detail, nil)
}

func fieldProblem(ctx *fasthttp.RequestCtx, status int, detail, field, msg string) {
	fieldsProblem(ctx, status, detail, []fieldError{{field, msg}})
}

// fieldsProblem is a problem+json answer that names the wrong fields.
func fieldsProblem(ctx *fasthttp.RequestCtx, status int, detail string, fields []fieldError) {
	body, _ := json.Marshal(struct {
		Type   string       `json:"type"`
		Title  string       `json:"title"`
		Status int          `json:"status"`
		Detail string       `json:"detail"`
		Errors []fieldError `json:"errors,omitempty"`
	}{"about:blank", fasthttp.StatusMessage(status), status, detail, fields})
	ctx.Response.ResetBody() // keep headers set before (Retry-After, Allow, WWW-Authenticate)
	ctx.SetStatusCode(status)
	ctx.SetContentType("application/problem+json")
	ctx.Response.Header.Set("Cache-Control", "no-store")
	ctx.SetBody(body)
}
