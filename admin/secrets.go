package admin

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"net/http"
	"slices"
	"strings"

	"github.com/ringside-live/ringside/control"
)

// Stream keys are write-only: every read (config, events, an event, the
// result of a write) shows each key as a reference, "sha256:" and the first
// 8 bytes of its SHA-256 in hex, so operators can tell keys apart without
// the API ever giving one out. A PUT may send a reference back in place of
// a key it keeps (GET, edit, PUT works); a reference to no key of the event
// is refused.
const keyRefPrefix = "sha256:"

// streamKeyRef is the reference a read shows for key.
func streamKeyRef(key string) string {
	sum := sha256.Sum256([]byte(key))
	return keyRefPrefix + hex.EncodeToString(sum[:8])
}

// redactEvent is ev with its stream keys (and its feeds') replaced by
// references.
func redactEvent(ev control.Event) control.Event {
	ev.MapStreamKeys(func(keys []string) []string {
		refs := make([]string, len(keys))
		for i, k := range keys {
			refs[i] = streamKeyRef(k)
		}
		return refs
	})
	return ev
}

func redactEvents(m map[string]control.Event) map[string]control.Event {
	out := make(map[string]control.Event, len(m))
	for id, ev := range m {
		out[id] = redactEvent(ev)
	}
	return out
}

// resolveKeyRefs puts back the keys that ev's references name, from the
// event as this node holds it (cur). It answers 422 and reports false for
// a reference to no key.
func resolveKeyRefs(c *call, ev *control.Event, cur control.Event) bool {
	have := cur.AllStreamKeys()
	type keyList struct {
		field string
		keys  []string // the request's own: references are replaced in place
	}
	lists := []keyList{{"stream_keys", ev.StreamKeys}}
	if fs := ev.Feeds; fs != nil {
		lists = append(lists, keyList{"feeds.primary.stream_keys", fs.Primary.StreamKeys},
			keyList{"feeds.backup.stream_keys", fs.Backup.StreamKeys})
	}
	for _, l := range lists {
		for i, k := range l.keys {
			if !strings.HasPrefix(k, keyRefPrefix) {
				continue
			}
			j := slices.IndexFunc(have, func(h string) bool { return streamKeyRef(h) == k })
			if j < 0 {
				writeProblem(c.w, http.StatusUnprocessableEntity, "a stream key reference names no key of event "+ev.ID,
					FieldError{Field: fmt.Sprintf("%s[%d]", l.field, i), Message: "no key of this event has the reference " + k})
				return false
			}
			l.keys[i] = have[j]
		}
	}
	return true
}

// currentEvent is the event id as this node holds it (zero if none).
func (a *API) currentEvent(id string) control.Event {
	if a.control == nil {
		return control.Event{}
	}
	return a.control.Current().Events[id]
}
