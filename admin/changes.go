package admin

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"net/http"

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
// valid as previous. The key id derives from the Idempotency-Key, so a
// retry names the same key (and control's idempotency digest of a
// rotation covers only the id); the secret is random and never returned.
func (a *API) rotateKey(c *call) {
	secret := make([]byte, 32)
	if _, err := io.ReadFull(a.rand, secret); err != nil {
		a.log.Error("generating a signing secret", "err", err)
		writeProblem(c.w, http.StatusInternalServerError, fmt.Sprintf("generating a signing secret: %v", err))
		return
	}
	key := control.SigningKey{ID: signingKeyID(c.key), Secret: secret}
	a.write(c, control.CmdRotateSigningKey, key, func(d *control.Document) any { return keyIDs(d) })
}

// signingKeyID is "k" and the first 10 hex digits of the key's SHA-256.
func signingKeyID(idempotencyKey string) string {
	sum := sha256.Sum256([]byte(idempotencyKey))
	return "k" + hex.EncodeToString(sum[:])[:10]
}
