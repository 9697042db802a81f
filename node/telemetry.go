package node

import (
	"bytes"
	"compress/gzip"
	"context"
	"errors"
	"io"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"net/netip"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/valyala/fasthttp"

	"github.com/ringside-live/ringside/identity"
	"github.com/ringside-live/ringside/mesh"
	"github.com/ringside-live/ringside/steering"
	"github.com/ringside-live/ringside/steering/limiter"
	"github.com/ringside-live/ringside/telemetry"
)

// Viewer telemetry on a node (telemetry/README.md has the model):
//
//   - every node that answers /live records each player request (CMCD from
//     the query and the CMCD-* headers, status, TTFB, bytes, duration)
//     into its Recorder; a steer node records beacons there too;
//   - once a second it cuts a delta and sends it, gzipped when that pays,
//     to every steer and control node over the mesh's mutual TLS
//     (POST /internal/v1/telemetry), and applies it to its own Merger when
//     it has one;
//   - steer and control nodes merge the deltas (the admin API's view, the
//     console, Prometheus); a steer node judges every (CDN, region) each
//     health_interval with hysteresis and hands the CDNs down in a region
//     to steering (steering.RegionDown).
//
// Labels: event (a known event only), region (the steering regions of the
// client address), pathway ("mesh", or a configured CDN id named by the
// pathway header a CDN adds when it pulls, or by CMCD v2 "cdn"),
// rendition (the first path element under the event, only for answers
// below 400, so a scan of made-up paths cannot mint series).

// telemetryDeltaPath is the internal route that takes deltas.
const telemetryDeltaPath = "/internal/v1/telemetry"

// maxDeltaBody bounds a delta on the wire (gzip or not); decoded it is
// bounded by telemetry.MaxDeltaBytes.
const maxDeltaBody = 4 << 20

// nodeTelemetry is the telemetry of one node.
type nodeTelemetry struct {
	cfg    TelemetrySection
	self   string
	log    *slog.Logger
	rec    *telemetry.Recorder
	merger *telemetry.Merger         // nil without the steer or control role
	health *telemetry.HealthTracker  // nil without the steer role
	down   *steering.RegionDown      // fed by health; read by steering
	client *http.Client              // deltas to the steer and control nodes
	in     telemetryInputs           // what it reads of its node
	labels atomic.Pointer[telLabels] // regions and CDNs of the served document
	parser sync.Pool                 // *telemetry.Parser
	m      *telemetryMetrics
	// beacons limits POST /t/ per client network.
	beacons *limiter.Limiter
	// sending marks targets whose previous delta is still on its way: a
	// slow node is skipped for a tick, never queued behind.
	sending sync.Map // node id -> *atomic.Bool
}

// telemetryInputs is what telemetry reads of its node.
type telemetryInputs interface {
	event(id string) *Event
	members() []mesh.Member
	steerInputs
}

// telLabels is what the labels are derived from, per document version.
type telLabels struct {
	version uint64
	regions *steering.Regions
	cdns    map[string]bool
}

func newNodeTelemetry(cfg Config, in telemetryInputs, client *http.Client, reg prometheus.Registerer, log *slog.Logger) (*nodeTelemetry, error) {
	tc := cfg.Telemetry
	rc := telemetry.DefaultRecorderConfig()
	rc.Epoch = rand.Uint64() | 1
	rec, err := telemetry.NewRecorder(rc)
	if err != nil {
		return nil, err
	}
	lc := limiter.DefaultConfig()
	lc.Rate, lc.Burst = tc.BeaconRate, max(10, int(10*tc.BeaconRate))
	beacons, err := limiter.New(lc)
	if err != nil {
		return nil, err
	}
	t := &nodeTelemetry{cfg: tc, self: cfg.Node.ID, log: log, rec: rec, client: client, in: in,
		down: steering.NewRegionDown(), beacons: beacons}
	t.parser.New = func() any { return new(telemetry.Parser) }
	if cfg.hasRole(RoleSteer) || cfg.hasRole(RoleControl) {
		if t.merger, err = telemetry.NewMerger(telemetry.DefaultMergerConfig(), time.Now); err != nil {
			return nil, err
		}
	}
	if cfg.hasRole(RoleSteer) {
		if t.health, err = telemetry.NewHealthTracker(tc.healthConfig()); err != nil {
			return nil, err
		}
	}
	t.m = newTelemetryMetrics(reg, t)
	return t, nil
}

// run sends the deltas and judges health until ctx ends.
func (t *nodeTelemetry) run(ctx context.Context, wg *sync.WaitGroup) {
	wg.Go(func() { t.sendLoop(ctx) })
	if t.health != nil {
		wg.Go(func() { t.healthLoop(ctx) })
	}
}

// tick waits until the next multiple of every plus offset (so every node
// cuts its deltas just after a second ends, and health is judged once
// they arrived); false when ctx ended.
func tick(ctx context.Context, every, offset time.Duration) bool {
	now := time.Now()
	next := now.Truncate(every).Add(offset)
	for !next.After(now) {
		next = next.Add(every)
	}
	tm := time.NewTimer(next.Sub(now))
	defer tm.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-tm.C:
		return true
	}
}

func (t *nodeTelemetry) sendLoop(ctx context.Context) {
	every := time.Duration(t.cfg.Interval)
	var buf []byte
	for tick(ctx, every, min(every/10, 100*time.Millisecond)) {
		d := t.rec.Delta(time.Now())
		var err error
		if buf, err = d.AppendBinary(buf[:0]); err != nil {
			t.log.Error("encoding a telemetry delta", "err", err)
			continue
		}
		t.m.deltaBytes.Observe(float64(len(buf)))
		if t.merger != nil {
			if err := t.merger.Apply(t.self, buf); err != nil {
				t.log.Debug("own telemetry delta refused", "err", err)
			}
		}
		body, gz := compressDelta(buf)
		t.fanOut(ctx, body, gz, every)
	}
}

// compressDelta gzips b when it is large enough for that to pay and it
// does; the result is a new slice either way (b is reused).
func compressDelta(b []byte) ([]byte, bool) {
	if len(b) >= 1024 {
		var out bytes.Buffer
		zw, _ := gzip.NewWriterLevel(&out, gzip.BestSpeed)
		zw.Write(b)
		zw.Close()
		if out.Len() < len(b)*9/10 {
			return out.Bytes(), true
		}
	}
	return bytes.Clone(b), false
}

// fanOut posts one delta to every other steer and control member, in
// parallel, each within one interval.
func (t *nodeTelemetry) fanOut(ctx context.Context, body []byte, gz bool, budget time.Duration) {
	for _, m := range t.in.members() {
		if m.ID == t.self || m.MeshAddr == "" || m.State != mesh.StateAlive ||
			!(m.HasRole(mesh.RoleSteer) || m.HasRole(mesh.RoleControl)) {
			continue
		}
		v, _ := t.sending.LoadOrStore(m.ID, new(atomic.Bool))
		busy := v.(*atomic.Bool)
		if !busy.CompareAndSwap(false, true) {
			t.m.sent.WithLabelValues("skipped").Inc()
			continue
		}
		go func(addr string) {
			defer busy.Store(false)
			err := t.post(ctx, addr, body, gz, max(budget, time.Second))
			outcome := "ok"
			if err != nil {
				outcome = "error"
				t.log.Debug("telemetry delta not delivered", "to", m.ID, "err", err)
			}
			t.m.sent.WithLabelValues(outcome).Inc()
		}(m.MeshAddr)
	}
}

func (t *nodeTelemetry) post(ctx context.Context, addr string, body []byte, gz bool, budget time.Duration) error {
	cctx, cancel := context.WithTimeout(ctx, budget)
	defer cancel()
	req, err := http.NewRequestWithContext(cctx, http.MethodPost, "https://"+addr+telemetryDeltaPath, bytes.NewReader(body))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/octet-stream")
	if gz {
		req.Header.Set("Content-Encoding", "gzip")
	}
	resp, err := t.client.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	io.Copy(io.Discard, io.LimitReader(resp.Body, 4096))
	if resp.StatusCode != http.StatusNoContent {
		return errors.New("node: telemetry delta: status " + resp.Status)
	}
	return nil
}

// internalTelemetry takes a delta from another node: the sender is the
// node its certificate names, whatever the delta says.
func (n *running) internalTelemetry(ctx *fasthttp.RequestCtx, _ string, caller identity.Peer) {
	t := n.tel
	if t == nil || t.merger == nil {
		problem(ctx, fasthttp.StatusNotFound, "this node merges no telemetry (steer or control roles)")
		return
	}
	var r io.Reader = io.LimitReader(ctx.RequestBodyStream(), maxDeltaBody+1)
	raw, err := io.ReadAll(r)
	if err != nil || len(raw) > maxDeltaBody {
		problem(ctx, fasthttp.StatusRequestEntityTooLarge, "a telemetry delta is at most 4 MiB")
		ctx.SetConnectionClose()
		return
	}
	if bytes.EqualFold(ctx.Request.Header.Peek("Content-Encoding"), []byte("gzip")) {
		zr, err := gzip.NewReader(bytes.NewReader(raw))
		if err == nil {
			raw, err = io.ReadAll(io.LimitReader(zr, telemetry.MaxDeltaBytes+1))
		}
		if err != nil || len(raw) > telemetry.MaxDeltaBytes {
			problem(ctx, fasthttp.StatusBadRequest, "bad gzip delta")
			return
		}
	}
	if err := t.merger.Apply(caller.ID, raw); err != nil {
		t.m.applied.WithLabelValues("refused").Inc()
		status := fasthttp.StatusBadRequest
		if errors.Is(err, telemetry.ErrDuplicate) || errors.Is(err, telemetry.ErrOutOfWindow) {
			status = fasthttp.StatusConflict
		}
		problem(ctx, status, err.Error())
		return
	}
	t.m.applied.WithLabelValues("ok").Inc()
	ctx.SetStatusCode(fasthttp.StatusNoContent)
}

// healthLoop judges every (pathway, region) once per health interval and
// gives steering the CDNs down in a region.
func (t *nodeTelemetry) healthLoop(ctx context.Context) {
	every := time.Duration(t.cfg.HealthInterval)
	// Half a second after the deltas of the last whole second were cut.
	for tick(ctx, every, 600*time.Millisecond) {
		for _, st := range t.health.Observe(t.merger.HealthInputs(every)) {
			if st.Pathway == steering.MeshID || st.Region == "" || st.Pathway == telemetry.OverflowLabel {
				continue
			}
			if t.down.Set(st.Pathway, st.Region, st.Down) {
				t.log.Warn("viewers' health of a CDN changed in a region", "cdn", st.Pathway, "region", st.Region,
					"down", st.Down, "flaps", st.Flaps)
				t.m.flaps.Inc()
			}
		}
	}
}

// labelsNow returns the label sources of the served document.
func (t *nodeTelemetry) labelsNow() *telLabels {
	doc, _ := t.in.versions()
	if l := t.labels.Load(); l != nil && l.version == doc {
		return l
	}
	l := &telLabels{version: doc, cdns: map[string]bool{}}
	if d := t.in.document(); d != nil {
		var rs []steering.Region
		for _, r := range d.Regions {
			rs = append(rs, steering.Region{Name: r.Name, CIDRs: r.CIDRs})
		}
		l.regions = steering.NewRegions(rs)
		for id := range d.CDNs {
			l.cdns[id] = true
		}
	}
	t.labels.Store(l)
	return l
}

var (
	hdrCMCDRequest = []byte("CMCD-Request")
	hdrCMCDObject  = []byte("CMCD-Object")
	hdrCMCDStatus  = []byte("CMCD-Status")
	hdrCMCDSession = []byte("CMCD-Session")
	hdrForwarded   = []byte("X-Forwarded-For")
	labelMesh      = []byte(steering.MeshID)
)

// recordLive records one answered /live request of a player. It does not
// allocate once the request's series exists.
func (n *running) recordLive(ctx *fasthttp.RequestCtx, p []byte) {
	t := n.tel
	evb, fileb, ok := splitEventPath(p[len(prefixLive):])
	if !ok || n.event(b2s(evb)) == nil {
		return
	}
	status := ctx.Response.StatusCode()
	var rendition []byte
	if i := bytes.IndexByte(fileb, '/'); i > 0 && status < 400 {
		rendition = fileb[:i]
	}
	ps := t.parser.Get().(*telemetry.Parser)
	defer t.parser.Put(ps)
	ps.Reset()
	var perr error
	if q := ctx.URI().QueryString(); len(q) > 0 && bytes.Contains(q, cmcdParam) {
		perr = ps.ParseQuery(q)
	} else if h := &ctx.Request.Header; len(h.PeekBytes(hdrCMCDRequest))+len(h.PeekBytes(hdrCMCDObject))+
		len(h.PeekBytes(hdrCMCDStatus))+len(h.PeekBytes(hdrCMCDSession)) > 0 {
		perr = ps.ParseHeaders(h.PeekBytes(hdrCMCDRequest), h.PeekBytes(hdrCMCDObject), h.PeekBytes(hdrCMCDStatus), h.PeekBytes(hdrCMCDSession))
	}
	l := t.labelsNow()
	pathway := labelMesh
	if v := ctx.Request.Header.Peek(t.cfg.PathwayHeader); len(v) > 0 && l.cdns[b2s(v)] {
		pathway = v
	} else if len(ps.CDN) > 0 && l.cdns[b2s(ps.CDN)] {
		pathway = ps.CDN
	}
	addr, _ := netip.AddrFromSlice(ctx.RemoteIP())
	if !bytes.Equal(pathway, labelMesh) {
		// Through a CDN, the player is the first address the CDN forwards.
		if xff := ctx.Request.Header.PeekBytes(hdrForwarded); len(xff) > 0 {
			if i := bytes.IndexByte(xff, ','); i >= 0 {
				xff = xff[:i]
			}
			if a, err := netip.ParseAddr(b2s(bytes.TrimSpace(xff))); err == nil {
				addr = a
			}
		}
	}
	elapsed := time.Since(ctx.Time())
	var size int64
	if !ctx.Response.IsBodyStream() {
		size = int64(len(ctx.Response.Body()))
	}
	o := telemetry.Observation{Event: evb, Region: s2b(l.regions.Of(addr)), Pathway: pathway, Rendition: rendition,
		CMCD: &ps.CMCD, CMCDInvalid: perr != nil, Status: status, TTFB: elapsed, Duration: elapsed, Bytes: size}
	t.rec.Record(&o)
}

var cmcdParam = []byte("CMCD=")

// newTelemetry builds the node's telemetry (nil with telemetry.disabled);
// steering reads the per-region health it judges.
func (n *running) newTelemetry() error {
	if n.cfg.Telemetry.Disabled {
		return nil
	}
	t, err := newNodeTelemetry(n.cfg, n, n.peerClient(2*time.Second), n.reg, n.log.With("component", "telemetry"))
	if err != nil {
		return err
	}
	if n.steer != nil {
		t.down = n.steer.qoe
	} else {
		t.health = nil // only a steer node steers
	}
	n.tel = t
	return nil
}
