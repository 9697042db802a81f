package admin_test

import (
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/ringside-live/ringside/admin"
	"github.com/ringside-live/ringside/control"
)

// TestStrictBodies: a body is one JSON value whose objects name each key
// once, at any depth (also when the names differ only by case or
// escaping, which the decoder would take as one field): anything else is
// refused with 400 naming the key, before it does anything.
func TestStrictBodies(t *testing.T) {
	e := newEnv(t)
	seed(t, e)
	tests := []struct {
		name, method, path, body, want string
	}{
		{"duplicate key", "POST", "purge", `{"prefix":"/live/ev1/","prefix":"/live/"}`, `"prefix"`},
		{"duplicate key in another case", "POST", "purge", `{"prefix":"/live/ev1/","Prefix":"/live/"}`, `"Prefix"`},
		{"escaped duplicate key", "POST", "purge", `{"prefix":"/live/ev1/","\u0070refix":"/live/"}`, `"prefix"`},
		{"nested duplicate", "PUT", "events/final", `{"pull_url":"http://o/","low_latency":{"enabled":false,"enabled":true}}`, `"enabled"`},
		{"duplicate in a list element", "PUT", "events/final",
			`{"pull_url":"http://o/","renditions":[{"name":"a","bandwidth":1},{"name":"b","bandwidth":1,"bandwidth":2}]}`, `"bandwidth"`},
		{"second value", "POST", "purge", `{"prefix":"/live/ev1/"} {"prefix":"/live/"}`, "after the JSON value"},
		{"trailing bytes", "POST", "cdns/akam/weight", `{"weight":250}x`, "after the JSON value"},
		{"trailing bracket", "POST", "cdns/akam/weight", `{"weight":250}]`, "after the JSON value"},
		{"duplicate state", "POST", "events/final/state", `{"state":"live","state":"ended"}`, `"state"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			calls := len(e.control.Calls())
			r := e.call(t, tt.method, "/admin/v1/"+tt.path, adminToken, tt.body)
			if r.status != 400 || !strings.Contains(r.problem.Detail, tt.want) {
				t.Fatalf("%d %s; want 400 naming %s", r.status, r.raw, tt.want)
			}
			if n := len(e.control.Calls()); n != calls {
				t.Errorf("the body was applied")
			}
			if p := e.cluster.Purges(); len(p) != 0 {
				t.Errorf("purged %+v", p)
			}
		})
	}
	// The same keys in different objects are not duplicates.
	ok := `{"pull_url":"http://o/","renditions":[{"name":"a","bandwidth":1},{"name":"b","bandwidth":2}]}`
	if r := e.call(t, "PUT", "/admin/v1/events/final", adminToken, ok); r.status != 200 {
		t.Fatalf("%d %s", r.status, r.raw)
	}
}

// TestWeakIfMatchNeverMatches: If-Match compares strongly (RFC 9110
// §13.1.1): a weak validator fails the precondition even when its
// version is current.
func TestWeakIfMatchNeverMatches(t *testing.T) {
	e := newEnv(t)
	seed(t, e)
	v := e.control.Current().Version
	body := `{"cidrs":["192.0.2.0/25"]}`
	tests := []struct {
		ifMatch string
		status  int
	}{
		{fmt.Sprintf(`W/"%d"`, v), 412},
		{fmt.Sprintf(`"%d"`, v), 200},
		{fmt.Sprintf(`W/"%d"`, v+1), 412},
		{`W/"x"`, 412},
		{`*`, 200},
	}
	for _, tt := range tests {
		calls := len(e.control.Calls())
		r := e.call(t, "PUT", "/admin/v1/regions/eu", adminToken, body, "If-Match", tt.ifMatch)
		if r.status != tt.status {
			t.Fatalf("If-Match %s: %d %s; want %d", tt.ifMatch, r.status, r.raw, tt.status)
		}
		if tt.status == 412 && len(e.control.Calls()) != calls {
			t.Fatalf("If-Match %s: applied", tt.ifMatch)
		}
	}
}

// TestAuthSchemeIsCaseInsensitive: "bearer" is "Bearer" (RFC 9110 §11.1).
func TestAuthSchemeIsCaseInsensitive(t *testing.T) {
	e := newEnv(t)
	tests := []struct {
		auth   string
		status int
	}{
		{"Bearer " + roToken, 200},
		{"bearer " + roToken, 200},
		{"BEARER " + roToken, 200},
		{"bEaReR  " + roToken, 200},
		{"Basic " + roToken, 401},
		{"Bearer" + roToken, 401},
		{"Bearer ", 401},
		{roToken, 401},
	}
	for _, tt := range tests {
		if r := e.call(t, "GET", "/admin/v1/events", "", "", "Authorization", tt.auth); r.status != tt.status {
			t.Errorf("Authorization %q: %d %s; want %d", tt.auth, r.status, r.raw, tt.status)
		}
	}
}

// TestSizeLimits: a body larger than a command may be answers 413 before
// it is decoded, a command the store finds too large 413, and however
// large the input, a problem stays small: a bounded number of fields,
// long values cut.
func TestSizeLimits(t *testing.T) {
	const maxProblem = 64 << 10
	e := newEnv(t)
	seed(t, e)
	padded := `{"cidrs":["192.0.2.0/24"]` + strings.Repeat(" ", control.MaxCommandSize) + `}`
	if r := e.call(t, "PUT", "/admin/v1/regions/eu", adminToken, padded); r.status != 413 {
		t.Errorf("a body of %d bytes: %d %.300s", len(padded), r.status, r.raw)
	}

	e.control.FailApply(fmt.Errorf("control: %w: 2000000 bytes", control.ErrTooLarge))
	if r := e.call(t, "PUT", "/admin/v1/regions/eu", adminToken, `{"cidrs":["192.0.2.0/24"]}`); r.status != 413 {
		t.Errorf("ErrTooLarge: %d %s", r.status, r.raw)
	}

	many := &control.ValidationError{}
	for i := range 20000 {
		many.Errs = append(many.Errs, control.FieldError{Field: fmt.Sprintf("events[x].stream_keys[%d]", i),
			Message: strings.Repeat("m", 100)})
	}
	long := &control.ValidationError{Errs: []control.FieldError{{Field: strings.Repeat("f", 1<<20), Message: strings.Repeat("m", 1<<20)}}}
	for name, err := range map[string]error{"many fields": many, "long field": long,
		"long error": errors.New(strings.Repeat("e", 1<<20))} {
		e.control.FailApply(err)
		r := e.call(t, "PUT", "/admin/v1/regions/eu", adminToken, `{"cidrs":["192.0.2.0/24"]}`)
		if r.status < 400 || len(r.raw) > maxProblem || len(r.problem.Errors) > 50 {
			t.Errorf("%s: %d with %d bytes, %d fields", name, r.status, len(r.raw), len(r.problem.Errors))
		}
	}

	unknown := `{"` + strings.Repeat("k", 900<<10) + `":1}`
	if r := e.call(t, "POST", "/admin/v1/purge", adminToken, unknown); r.status != 400 || len(r.raw) > maxProblem {
		t.Errorf("a long unknown field: %d with %d bytes", r.status, len(r.raw))
	}
	key := `{"key":"` + strings.Repeat("k", 900<<10) + `"}`
	if r := e.call(t, "POST", "/admin/v1/purge", adminToken, key); r.status != 400 || len(r.raw) > maxProblem {
		t.Errorf("a long purge key: %d with %d bytes", r.status, len(r.raw))
	}
}

var _ = admin.Problem{}
