package strictjson

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"
)

// Bounds: how much of a key an error quotes, of a decoder's error
// (which may quote an unknown field whole), and how deeply values nest
// (as encoding/json's own limit).
const (
	maxKeyInError = 64
	maxError      = 256
	maxDepth      = 10000
)

// Decode decodes b, which must hold exactly one JSON value (surrounding
// white space allowed), into v. Unknown fields of a struct, a key named
// twice in one object and anything after the value are errors; an error
// about a key names it and where it is ("duplicate key \"prefix\"",
// "at renditions[1]").
func Decode(b []byte, v any) error {
	if err := checkKeys(b); err != nil {
		return err
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return clip(err)
	}
	return nil
}

// frame is one object or array being read.
type frame struct {
	object  bool
	keys    map[string]string // folded key -> key as written (objects)
	key     string            // the current member's key (objects)
	index   int               // the current element (arrays)
	wantKey bool              // the next token is a key (objects)
}

// checkKeys reads b as a stream of tokens: one value, nothing after it,
// each object's keys distinct.
func checkKeys(b []byte) error {
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber() // numbers are not converted, so none is out of range here
	var stack []*frame
	for {
		tok, err := dec.Token()
		switch {
		case err == io.EOF && len(stack) == 0:
			return errors.New("empty body: want one JSON value")
		case err == io.EOF:
			return io.ErrUnexpectedEOF
		case err != nil:
			return clip(err)
		}
		var top *frame
		if len(stack) > 0 {
			top = stack[len(stack)-1]
		}
		if top != nil && top.object && top.wantKey {
			if k, ok := tok.(string); ok {
				if err := top.add(k, stack); err != nil {
					return err
				}
				top.wantKey = false
				continue
			}
		}
		switch tok {
		case json.Delim('{'), json.Delim('['):
			if len(stack) == maxDepth {
				return fmt.Errorf("values nest deeper than %d", maxDepth)
			}
			stack = append(stack, &frame{object: tok == json.Delim('{'), wantKey: true})
			continue
		case json.Delim('}'), json.Delim(']'):
			stack = stack[:len(stack)-1]
		}
		// A value ended.
		if len(stack) == 0 {
			return end(dec)
		}
		if top = stack[len(stack)-1]; top.object {
			top.wantKey = true
		} else {
			top.index++
		}
	}
}

// add records key k in the object f, the top of stack.
func (f *frame) add(k string, stack []*frame) error {
	folded := fold(k)
	if f.keys == nil {
		f.keys = map[string]string{}
	}
	if first, dup := f.keys[folded]; dup {
		msg := "duplicate key " + quote(k)
		if first != k {
			msg += " (same as " + quote(first) + ")"
		}
		if at := path(stack[:len(stack)-1]); at != "" {
			msg += " in the object at " + at
		}
		return errors.New(msg)
	}
	f.keys[folded] = k
	f.key = k
	return nil
}

// end checks that nothing but white space follows the value.
func end(dec *json.Decoder) error {
	if _, err := dec.Token(); err != io.EOF {
		return fmt.Errorf("data after the JSON value (at byte %d)", dec.InputOffset())
	}
	return nil
}

// path names where the innermost frame of stack is: "low_latency",
// "renditions[1]".
func path(stack []*frame) string {
	var b strings.Builder
	for _, f := range stack {
		if f.object {
			if b.Len() > 0 {
				b.WriteByte('.')
			}
			b.WriteString(cut(f.key, maxKeyInError))
		} else {
			b.WriteString("[" + strconv.Itoa(f.index) + "]")
		}
	}
	return b.String()
}

// fold maps every key equal to s under bytes.EqualFold to one string.
func fold(s string) string {
	var b strings.Builder
	b.Grow(len(s))
	for _, r := range s {
		if 'a' <= r && r <= 'z' {
			r -= 'a' - 'A' // the smallest of its fold set, as foldRune would say
		} else if r >= utf8.RuneSelf {
			r = foldRune(r)
		}
		b.WriteRune(r)
	}
	return b.String()
}

// foldRune is the smallest rune of r's fold set.
func foldRune(r rune) rune {
	for {
		r2 := unicode.SimpleFold(r)
		if r2 <= r {
			return r2
		}
		r = r2
	}
}

func quote(k string) string { return strconv.Quote(cut(k, maxKeyInError)) }

// cut shortens s to at most n bytes and an ellipsis.
func cut(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n] + "…"
}

// clip bounds the text of a decoder's error.
func clip(err error) error {
	if msg := err.Error(); len(msg) > maxError {
		return errors.New(cut(msg, maxError))
	}
	return err
}
