package admin

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"unicode/utf8"

	"github.com/ringside-live/ringside/control"
)

// writeJSON answers v as indented JSON, never cached.
func writeJSON(w http.ResponseWriter, status int, v any) {
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		writeProblem(w, http.StatusInternalServerError, "encoding the answer: "+err.Error())
		return
	}
	h := w.Header()
	h.Set("Content-Type", "application/json")
	h.Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	w.Write(append(b, '\n'))
}

// Bounds of a problem, whatever the input it is about: the detail, the
// fields listed (the first ones; the detail says how many there were)
// and each field's path and message.
const (
	maxDetail       = 2048
	maxFields       = 20
	maxFieldPath    = 256
	maxFieldMessage = 512
)

// writeProblem answers an RFC 9457 problem. Headers set before it
// (Retry-After, Allow, WWW-Authenticate) are kept.
func writeProblem(w http.ResponseWriter, status int, detail string, fields ...FieldError) {
	if len(fields) > maxFields {
		detail = fmt.Sprintf("%s (the first %d of %d fields are listed)", cut(detail, maxDetail), maxFields, len(fields))
		fields = fields[:maxFields]
	}
	listed := make([]FieldError, len(fields))
	for i, f := range fields {
		listed[i] = FieldError{Field: cut(f.Field, maxFieldPath), Message: cut(f.Message, maxFieldMessage)}
	}
	b, _ := json.Marshal(Problem{Type: "about:blank", Title: http.StatusText(status), Status: status,
		Detail: cut(detail, maxDetail), Errors: listed})
	h := w.Header()
	h.Del("ETag")
	h.Set("Content-Type", "application/problem+json")
	h.Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	w.Write(b)
}

// cut shortens s to at most n bytes and an ellipsis, on a character
// boundary.
func cut(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n] + "…"
}

// unavailable answers 503 with Retry-After: 1: the same request (with the
// same Idempotency-Key) may be retried at once.
func unavailable(w http.ResponseWriter, detail string) {
	w.Header().Set("Retry-After", "1")
	writeProblem(w, http.StatusServiceUnavailable, detail)
}

func setETag(w http.ResponseWriter, version uint64) {
	w.Header().Set("ETag", `"`+strconv.FormatUint(version, 10)+`"`)
}

// commandStatus maps the control store's errors to statuses, first match
// wins. A *control.ValidationError (ErrInvalid) also lists its fields.
var commandStatus = []struct {
	err    error
	status int
}{
	{control.ErrConflict, http.StatusPreconditionFailed},
	{control.ErrNotFound, http.StatusNotFound},
	{control.ErrIllegalTransition, http.StatusConflict},
	{control.ErrExists, http.StatusConflict},
	{control.ErrIdempotencyMismatch, http.StatusUnprocessableEntity},
	{control.ErrInvalid, http.StatusUnprocessableEntity},
	{control.ErrTooLarge, http.StatusRequestEntityTooLarge},
	{control.ErrNotLeader, http.StatusServiceUnavailable},
	{context.DeadlineExceeded, http.StatusServiceUnavailable},
	{context.Canceled, http.StatusServiceUnavailable},
}

// commandStatusOf is the status an error of the control store answers.
func commandStatusOf(err error) int {
	for _, e := range commandStatus {
		if errors.Is(err, e.err) {
			return e.status
		}
	}
	return http.StatusInternalServerError
}

// commandProblem answers an error of the control store.
func commandProblem(w http.ResponseWriter, err error) {
	status := commandStatusOf(err)
	var fields []FieldError
	var ve *control.ValidationError
	if errors.As(err, &ve) {
		fields = make([]FieldError, 0, len(ve.Errs))
		for _, f := range ve.Errs {
			fields = append(fields, FieldError{Field: f.Field, Message: f.Message})
		}
	}
	if status == http.StatusServiceUnavailable {
		w.Header().Set("Retry-After", "1")
	}
	writeProblem(w, status, err.Error(), fields...)
}
