package admin

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"

	"github.com/ringside-live/ringside/control"
)

// The writes of the configuration document, one per route. Each decodes
// its body strictly (400 on unknown fields or bad JSON) and hands one
// command to write.

// decodeBody decodes the call's body into v; it answers 400 on failure.
func decodeBody(c *call, v any) bool {
	if err := strictJSON(c.body, v); err != nil {
		writeProblem(c.w, http.StatusBadRequest, err.Error())
		return false
	}
	return true
}

// samePathID fills an empty body id from the path, and answers 422 when
// the body names another one.
func samePathID(c *call, id *string, path, field string) bool {
	if *id == "" {
		*id = path
	}
	if *id != path {
		writeProblem(c.w, http.StatusUnprocessableEntity, "the body's "+field+" differs from the path",
			FieldError{Field: field, Message: "must be " + path})
		return false
	}
	return true
}

// createEvent adds an event; an existing id answers 409 (PUT replaces).
// The log decides (control.CmdCreateEvent), not this node's copy, so two
// concurrent creates of one id cannot both succeed.
func (a *API) createEvent(c *call) {
	var ev control.Event
	if !decodeBody(c, &ev) {
		return
	}
	if ev.State == "" {
		ev.State = control.StateScheduled
	}
	a.write(c, control.CmdCreateEvent, ev, func(d *control.Document) any { return redactEvent(d.Events[ev.ID]) })
}

func (a *API) putEvent(c *call) {
	var ev control.Event
	if decodeBody(c, &ev) && samePathID(c, &ev.ID, c.r.PathValue("id"), "id") &&
		resolveKeyRefs(c, &ev, a.currentEvent(ev.ID)) {
		a.write(c, control.CmdPutEvent, ev, func(d *control.Document) any { return redactEvent(d.Events[ev.ID]) })
	}
}

func (a *API) deleteEvent(c *call) {
	a.write(c, control.CmdDeleteEvent, control.EventRef{ID: c.r.PathValue("id")}, nil)
}

func (a *API) eventState(c *call) {
	var s control.EventStateArgs
	if decodeBody(c, &s) {
		s.ID = c.r.PathValue("id")
		a.write(c, control.CmdSetEventState, s, func(d *control.Document) any { return redactEvent(d.Events[s.ID]) })
	}
}

func (a *API) putRegion(c *call) {
	var r control.Region
	if decodeBody(c, &r) && samePathID(c, &r.Name, c.r.PathValue("name"), "name") {
		a.write(c, control.CmdPutRegion, r, func(d *control.Document) any { return d.Regions[r.Name] })
	}
}

func (a *API) deleteRegion(c *call) {
	a.write(c, control.CmdDeleteRegion, control.RegionRef{Name: c.r.PathValue("name")}, nil)
}

func (a *API) putCDN(c *call) {
	var cdn control.CDN
	if decodeBody(c, &cdn) && samePathID(c, &cdn.ID, c.r.PathValue("id"), "id") {
		a.write(c, control.CmdPutCDN, cdn, func(d *control.Document) any { return d.CDNs[cdn.ID] })
	}
}

func (a *API) deleteCDN(c *call) {
	a.write(c, control.CmdDeleteCDN, control.CDNRef{ID: c.r.PathValue("id")}, nil)
}

func (a *API) cdnWeight(c *call) {
	var w control.CDNWeightArgs
	if decodeBody(c, &w) {
		w.ID = c.r.PathValue("id")
		a.write(c, control.CmdSetCDNWeight, w, func(d *control.Document) any { return d.CDNs[w.ID] })
	}
}

func (a *API) cdnState(c *call) {
	var s control.CDNStateArgs
	if decodeBody(c, &s) {
		s.ID = c.r.PathValue("id")
		a.write(c, control.CmdSetCDNState, s, func(d *control.Document) any { return d.CDNs[s.ID] })
	}
}

// rotateKey makes a fresh playback-token key current; the old one stays
// valid until the last token it signed expires, and so do the keys
// retired before it: the answer lists them with their valid_until and a
// note. The optional body ({"max_token_ttl":"2h"}) changes the longest
// token lifetime. The key id derives from the Idempotency-Key, so a
// retry names the same key (and control's idempotency digest of a
// rotation covers only the id and max_token_ttl); the secret is random
// and never returned.
func (a *API) rotateKey(c *call) {
	var req RotateRequest
	if len(bytes.TrimSpace(c.body)) > 0 && !decodeBody(c, &req) {
		return
	}
	secret := make([]byte, 32)
	if _, err := io.ReadFull(a.rand, secret); err != nil {
		a.log.Error("generating a signing secret", "err", err)
		writeProblem(c.w, http.StatusInternalServerError, fmt.Sprintf("generating a signing secret: %v", err))
		return
	}
	args := control.RotateKeyArgs{ID: signingKeyID(c.key), Secret: secret, MaxTokenTTL: req.MaxTokenTTL}
	a.write(c, control.CmdRotateSigningKey, args, func(d *control.Document) any {
		k := keyIDs(d)
		k.Note = retiredNote(k)
		return k
	})
}

// retiredNote says until when each retired key keeps verifying tokens.
func retiredNote(k SigningKeyIDs) string {
	var keys []KeyID
	var retired []string
	if k.Previous != nil {
		keys = append(keys, *k.Previous)
	}
	for _, r := range append(keys, k.Older...) {
		until := "the next rotation"
		if !r.ValidUntil.IsZero() {
			until = r.ValidUntil.UTC().Format(time.RFC3339)
		}
		retired = append(retired, r.ID+" until "+until)
	}
	if len(retired) == 0 {
		return "no retired key"
	}
	return fmt.Sprintf("retired keys still verify the tokens they signed (max_token_ttl %s after retirement, plus %s): %s",
		k.MaxTokenTTL, control.Duration(control.RetiredKeyGrace), strings.Join(retired, ", "))
}

// revokeTokens makes every edge refuse the event's tokens issued so far
// (control.CmdRevokeTokens); /play hands out new ones at once.
func (a *API) revokeTokens(c *call) {
	id := c.r.PathValue("id")
	a.write(c, control.CmdRevokeTokens, control.EventRef{ID: id}, func(d *control.Document) any { return redactEvent(d.Events[id]) })
}

// signingKeyID is "k" and the first 10 hex digits of the key's SHA-256.
func signingKeyID(idempotencyKey string) string {
	sum := sha256.Sum256([]byte(idempotencyKey))
	return "k" + hex.EncodeToString(sum[:])[:10]
}
