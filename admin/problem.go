package admin

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"strconv"

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

// writeProblem answers an RFC 9457 problem. Headers set before it
// (Retry-After, Allow, WWW-Authenticate) are kept.
func writeProblem(w http.ResponseWriter, status int, detail string, fields ...FieldError) {
	b, _ := json.Marshal(Problem{Type: "about:blank", Title: http.StatusText(status), Status: status,
		Detail: detail, Errors: fields})
	h := w.Header()
	h.Del("ETag")
	h.Set("Content-Type", "application/problem+json")
	h.Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	w.Write(b)
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
