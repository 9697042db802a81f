package node

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"hash/fnv"
	"io"
	"net/http"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/valyala/fasthttp"

	"github.com/ringside-live/ringside/control"
	"github.com/ringside-live/ringside/identity"
	"github.com/ringside-live/ringside/ingest"
	"github.com/ringside-live/ringside/pkg/dvr"
	"github.com/ringside-live/ringside/pkg/object"
	"github.com/ringside-live/ringside/pkg/segment"
	"github.com/ringside-live/ringside/route"
)

// The DVR store of an ingest node (ingest.dvr) and its mirror on the
// other nodes; clips are in clips.go.

// openDVR opens the DVR store when ingest.dvr.dir is set.
func (n *running) openDVR() error {
	c := n.cfg.Ingest.DVR
	if c.Dir == "" {
		return nil
	}
	dc := dvr.DefaultConfig()
	dc.Dir, dc.MaxBytes, dc.EventBytes = c.Dir, int64(c.MaxBytes), int64(c.EventBytes)
	st, err := dvr.Open(dc, n.log.With("component", "dvr"))
	if err != nil {
		return fmt.Errorf("node: ingest.dvr: %w", err)
	}
	if rec := st.Recovery(); rec != (dvr.Recovery{}) {
		n.log.Warn("dvr store repaired at open", "recovery", fmt.Sprintf("%+v", rec))
	}
	n.dvr = st
	return nil
}

func (n *running) closeDVR() {
	if n.dvr != nil {
		if err := n.dvr.Close(); err != nil {
			n.log.Warn("closing the dvr store", "err", err)
		}
		n.dvr = nil
	}
}

// The DVR mirror: every segment an ingest node's DVR keeps is copied to
// the segment's shield owners that keep a DVR store themselves; they
// serve it (and the DVR playlists over what they hold) when no ingest
// node answers.

const (
	pathDVRMirror = "/internal/v1/dvr/" // + event/path
	hdrDVREntry   = "X-Ringside-Dvr-Entry"
	hdrDVRInit    = "X-Ringside-Dvr-Init" // the body is the init segment at this path
	// hdrDVRMaster: the body is the event's master playlist at this path,
	// kept so the mirror can serve its DVR forms (X.dvr.m3u8) too.
	hdrDVRMaster = "X-Ringside-Dvr-Master"
)

// mirroredMasters remembers which master playlist (by a hash of its
// bytes) went to which node, so each is sent once, with the first segment
// mirrored after it is published. Bounded by events x masters x nodes.
type mirroredMasters struct {
	mu   sync.Mutex
	sent map[string]uint64 // node/event/path -> FNV-64a of the body
}

// due reports whether body is new for key, and marks it sent.
func (m *mirroredMasters) due(key string, body []byte) bool {
	h := fnv.New64a()
	h.Write(body)
	sum := h.Sum64()
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.sent == nil {
		m.sent = map[string]uint64{}
	}
	if m.sent[key] == sum {
		return false
	}
	m.sent[key] = sum
	return true
}

// forget makes key due again (its send failed).
func (m *mirroredMasters) forget(key string) {
	m.mu.Lock()
	delete(m.sent, key)
	m.mu.Unlock()
}

// dvrMirror is ingest.Mirror over the routing table.
type dvrMirror struct{ n *running }

func (m dvrMirror) MirrorDVR(ctx context.Context, e dvr.Entry, body, init []byte) error {
	n := m.n
	t := n.tbl.Load()
	if t == nil {
		return nil
	}
	meta, err := json.Marshal(e)
	if err != nil {
		return err
	}
	// The segment's owner and its successor, and those of the DVR
	// playlists of its rendition: whoever is asked for either when the
	// ingest node is gone holds it.
	forms := dvrFormKeys(e.Event, e.Rendition)
	targets := replicasOf(t, "/live/"+e.Event+"/"+e.Path, forms[0], forms[1])
	var errs []error
	if err := m.sendMasters(ctx, t, e.Event); err != nil {
		errs = append(errs, err)
	}
	for _, id := range targets {
		addr := t.Addr(id)
		if addr == "" {
			continue
		}
		if len(init) > 0 && e.Map != "" {
			if err := n.dvrPut(ctx, addr, e.Event, e.Map, nil, init); err != nil {
				errs = append(errs, fmt.Errorf("%s: init: %w", id, err))
				continue
			}
		}
		if err := n.dvrPut(ctx, addr, e.Event, e.Path, meta, body); err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", id, err))
		}
	}
	return errors.Join(errs...)
}

// sendMasters sends the event's master playlists, each new one once, to
// the nodes that answer its DVR forms (X.dvr.m3u8, X.startover.m3u8):
// without the ingest node they rewrite it from their copy.
func (m dvrMirror) sendMasters(ctx context.Context, t *route.Table, event string) error {
	n := m.n
	if n.ingest == nil {
		return nil
	}
	var errs []error
	for p, body := range n.ingest.Masters(event) {
		forms := dvrFormKeys(event, p)
		for _, id := range replicasOf(t, forms[:]...) {
			addr, key := t.Addr(id), id+"/"+event+"/"+p
			if id == t.Self() || addr == "" || !n.mastersSent.due(key, body) {
				continue
			}
			if err := n.dvrSend(ctx, addr, event, p, hdrDVRMaster, "1", body); err != nil {
				n.mastersSent.forget(key)
				errs = append(errs, fmt.Errorf("%s: master %s: %w", id, p, err))
			}
		}
	}
	return errors.Join(errs...)
}

// dvrPut sends one segment (meta set) or init segment to a node's mirror.
func (n *running) dvrPut(ctx context.Context, addr, event, p string, meta, body []byte) error {
	if meta != nil {
		return n.dvrSend(ctx, addr, event, p, hdrDVREntry, base64.StdEncoding.EncodeToString(meta), body)
	}
	return n.dvrSend(ctx, addr, event, p, hdrDVRInit, "1", body)
}

// dvrSend PUTs body to a node's mirror at event/p with one header saying
// what it is.
func (n *running) dvrSend(ctx context.Context, addr, event, p, hdr, value string, body []byte) error {
	return n.mirrorSend(ctx, 5*time.Second, http.MethodPut, "https://"+addr+pathDVRMirror+event+"/"+p, body, hdr, value)
}

// mirrorSend makes one call of the DVR mirror's (a segment, a master, a
// pin) with the header hdr: value, within timeout. A node that keeps no
// DVR, or nothing of the event, answers 404: no error.
func (n *running) mirrorSend(ctx context.Context, timeout time.Duration, method, url string, body []byte, hdr, value string) error {
	cctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(cctx, method, url, bytes.NewReader(body))
	if err != nil {
		return err
	}
	req.Header.Set(hdr, value)
	resp, err := n.cluster.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	io.Copy(io.Discard, io.LimitReader(resp.Body, 4096))
	if resp.StatusCode == http.StatusNotFound {
		return nil
	}
	if resp.StatusCode/100 != 2 {
		return fmt.Errorf("status %d", resp.StatusCode)
	}
	return nil
}

// internalDVRMirror stores a mirrored segment (ingest nodes only send).
func (n *running) internalDVRMirror(ctx *fasthttp.RequestCtx, rest string, _ identity.Peer) {
	if n.dvr == nil {
		problem(ctx, fasthttp.StatusNotFound, "this node keeps no DVR (ingest.dvr.dir)")
		return
	}
	event, p, ok := strings.Cut(rest, "/")
	if !ok || n.event(event) == nil {
		problem(ctx, fasthttp.StatusBadRequest, "bad DVR mirror path "+rest)
		return
	}
	if int64(len(ctx.PostBody())) > int64(n.cfg.Ingest.MaxBodyBytes) {
		problem(ctx, fasthttp.StatusRequestEntityTooLarge, "segment over ingest.max_body_bytes")
		return
	}
	var err error
	switch {
	case len(ctx.Request.Header.Peek(hdrDVRMaster)) > 0:
		// A master playlist: kept beside the segments (never served as
		// it is), so this node can answer its DVR forms.
		body := ctx.PostBody()
		mp, perr := segment.ParseMaster(body)
		if perr == nil {
			perr = mp.Validate()
		}
		if _, _, cerr := segment.CheckPath(p); perr == nil && cerr != nil {
			perr = cerr
		}
		if perr != nil || !strings.HasSuffix(p, ".m3u8") || int64(len(body)) > int64(n.cfg.Ingest.MaxPlaylistBytes) {
			problem(ctx, fasthttp.StatusBadRequest, fmt.Sprintf("bad mirrored master playlist %s: %v", p, perr))
			return
		}
		err = n.dvr.PutInit(event, p, ingest.MasterContentType, body)
		if errors.Is(err, dvr.ErrConflict) {
			// The master changed during the event: the mirror keeps the
			// first (the store keeps one copy per path).
			err = nil
		}
	case len(ctx.Request.Header.Peek(hdrDVRInit)) > 0:
		_, ct, perr := segment.CheckPath(p)
		if perr != nil {
			problem(ctx, fasthttp.StatusBadRequest, perr.Error())
			return
		}
		err = n.dvr.PutInit(event, p, ct, ctx.PostBody())
	default:
		var e dvr.Entry
		raw, derr := base64.StdEncoding.DecodeString(string(ctx.Request.Header.Peek(hdrDVREntry)))
		if derr == nil {
			derr = strictJSON(raw, &e)
		}
		if derr != nil || e.Event != event || e.Path != p {
			problem(ctx, fasthttp.StatusBadRequest, "bad DVR entry header")
			return
		}
		if ev := n.event(event); ev != nil && (ev.DVRWindow > 0 || ev.VODOnEnd) {
			window := ev.DVRWindow
			if window <= 0 {
				window = 365 * 24 * time.Hour
			}
			_ = n.dvr.SetPolicy(event, window, 0)
		}
		err = n.dvr.Put(e, ctx.PostBody())
	}
	switch {
	case err == nil, errors.Is(err, dvr.ErrSequence):
		ctx.SetStatusCode(fasthttp.StatusNoContent)
	case errors.Is(err, dvr.ErrInvalid), errors.Is(err, dvr.ErrConflict):
		problem(ctx, fasthttp.StatusBadRequest, err.Error())
	default:
		problem(ctx, fasthttp.StatusInsufficientStorage, err.Error())
	}
}

// replicasOf are the owners of each key and their successors, without
// repeats.
func replicasOf(t *route.Table, keys ...string) []string {
	var ids []string
	for _, key := range keys {
		for _, id := range t.Replicas(key, 2) {
			if !slices.Contains(ids, id) {
				ids = append(ids, id)
			}
		}
	}
	return ids
}

// dvrFormKeys are the routing keys of playlist p's DVR and start-over
// forms: their shield owners mirror every segment of the rendition (and a
// master playlist).
func dvrFormKeys(event, p string) [2]string {
	base := "/live/" + event + "/" + strings.TrimSuffix(p, ".m3u8")
	return [2]string{base + ".dvr.m3u8", base + ".startover.m3u8"}
}

// serveDVRMirror answers a DVR path of a push event from the DVR mirror,
// when the mesh could not (no ingest node answers). A clip playlist lists
// segments that only the owners of its rendition's DVR forms mirror all
// of: another node asks them.
func (n *running) serveDVRMirror(ev *Event, p string) (*object.Object, bool) {
	if !ev.Push() {
		return nil, false
	}
	base, ok := ingest.ClipBase(p)
	if !ok {
		return n.serveDVRLocal(ev, p)
	}
	t := n.tbl.Load()
	if t == nil {
		return nil, false
	}
	forms := dvrFormKeys(ev.ID, base)
	holders := replicasOf(t, forms[:]...)
	if slices.Contains(holders, t.Self()) {
		if obj, ok := n.serveDVRLocal(ev, p); ok {
			return obj, true
		}
	}
	for _, id := range holders {
		addr := t.Addr(id)
		if id == t.Self() || addr == "" {
			continue
		}
		obj, err := n.readMirror(addr, ev.ID, p)
		if err == nil {
			return obj, true
		}
		n.log.Debug("clip from a mirror", "event", ev.ID, "path", p, "member", id, "err", err)
	}
	return nil, false
}

// serveDVRLocal answers a DVR path from this node's own mirror.
func (n *running) serveDVRLocal(ev *Event, p string) (*object.Object, bool) {
	if n.dvr == nil {
		return nil, false
	}
	obj, ok, err := ingest.ServeDVR(n.dvr, ev.ID, p, ev.DVRWindow, ev.State == string(control.StateEnded), nil)
	if !ok || err != nil {
		return nil, false
	}
	return obj, true
}

// readMirror asks a node for a DVR playlist its mirror serves.
func (n *running) readMirror(addr, event, p string) (*object.Object, error) {
	ctx, cancel := context.WithTimeout(n.ctx, 3*time.Second)
	defer cancel()
	body, hdr, err := n.internalGet(ctx, addr, pathDVRMirror+event+"/"+p, int64(n.cfg.Ingest.MaxPlaylistBytes))
	if err != nil {
		return nil, err
	}
	if _, err := segment.Detect(body); err != nil {
		return nil, fmt.Errorf("not a playlist: %w", err)
	}
	return object.NewComplete(object.Meta{Status: 200, Kind: segment.KindPlaylist, ContentType: "application/vnd.apple.mpegurl",
		CacheControl: hdr.Get("Cache-Control"), Source: "dvr"}, body), nil
}

// internalDVRRead serves a DVR playlist (a clip) from this node's mirror
// to another node; 404 when the mirror cannot.
func (n *running) internalDVRRead(ctx *fasthttp.RequestCtx, rest string, _ identity.Peer) {
	event, p, ok := strings.Cut(rest, "/")
	ev := n.event(event)
	if !ok || ev == nil || !ingest.IsDVRPath(p) {
		problem(ctx, fasthttp.StatusBadRequest, "not a DVR playlist path: "+rest)
		return
	}
	obj, found := n.serveDVRLocal(ev, p)
	if !found {
		problem(ctx, fasthttp.StatusNotFound, "this node's DVR mirror has no "+p)
		return
	}
	b, _ := obj.Complete()
	ctx.SetContentType(obj.ContentType)
	ctx.Response.Header.Set("Cache-Control", obj.CacheControl)
	ctx.SetBody(b)
}

var _ ingest.Mirror = dvrMirror{}
