package steering

import (
	"sync"
	"testing"
	"time"
)

// TestBoundedShift changes the weights under a fixed population of sticky
// sessions polling once per interval: at most MaxShiftPerInterval of them
// may move per interval, and the split converges to the new weights.
func TestBoundedShift(t *testing.T) {
	clk := newClock()
	cfg := testConfig()
	cfg.MeshWeight = 50
	e := newEngine(t, cfg, clk, nil)
	s := world()
	s.CDNs = s.CDNs[:1] // mesh 50 : cdn-a 50
	s.CDNs[0].Weight = 50
	const n = 1000
	cur := make([]string, n)
	round := func() (moved int, perPathway map[string]int) {
		perPathway = map[string]int{}
		for i := range n {
			p := primary(e.Decide(s, clientN(i)))
			if cur[i] != "" && p != cur[i] {
				moved++
			}
			cur[i] = p
			perPathway[p]++
		}
		return moved, perPathway
	}
	_, split := round()
	t.Logf("start: %v", split)
	for r := 1; r <= 2; r++ {
		clk.Add(cfg.Interval)
		if moved, _ := round(); moved != 0 {
			t.Fatalf("round %d: %d sessions moved with unchanged weights", r, moved)
		}
	}

	s.CDNs[0].Weight = 450 // mesh 10% : cdn-a 90%
	s.Version++
	limit := int(cfg.MaxShiftPerInterval * n)
	for r := 1; r <= 8; r++ {
		clk.Add(cfg.Interval)
		moved, split := round()
		t.Logf("interval %d after the change: moved %d, split %v", r, moved, split)
		if moved > limit {
			t.Fatalf("interval %d: %d sessions moved, limit %d", r, moved, limit)
		}
	}
	_, split = round()
	if split[MeshID] > 200 || split["cdn-a"] < 800 {
		t.Fatalf("did not converge to 10:90: %v", split)
	}
}

// poller simulates players that poll steering when their TTL runs out.
type poller struct {
	t      *testing.T
	e      *Engine
	clk    *clock
	next   []time.Time
	last   []Decision
	onPoll func(i int, prev, d Decision)
}

func newPoller(t *testing.T, e *Engine, clk *clock, s *Snapshot, n int) *poller {
	p := &poller{t: t, e: e, clk: clk, next: make([]time.Time, n), last: make([]Decision, n)}
	ttl := e.cfg.TTL
	for i := range n {
		// First polls spread evenly over one TTL.
		p.next[i] = clk.Now().Add(time.Duration(i) * ttl / time.Duration(n))
	}
	p.run(s, ttl)
	return p
}

// run advances the clock by d in 50 ms steps, polling every player whose
// TTL has run out.
func (p *poller) run(s *Snapshot, d time.Duration) {
	end := p.clk.Now().Add(d)
	for now := p.clk.Now(); !now.After(end); now = now.Add(50 * time.Millisecond) {
		p.clk.Set(now)
		for i := range p.next {
			if p.next[i].After(now) {
				continue
			}
			dec := p.e.Decide(*s, clientN(i))
			if p.onPoll != nil {
				p.onPoll(i, p.last[i], dec)
			}
			p.last[i] = dec
			p.next[i] = now.Add(dec.TTL)
		}
	}
}

func TestDrainCDN(t *testing.T) {
	clk := newClock()
	cfg := testConfig()
	e := newEngine(t, cfg, clk, nil)
	s := world()
	const n = 600
	p := newPoller(t, e, clk, &s, n)
	p.run(&s, 2*cfg.TTL)
	onB := map[int]bool{}
	for i, d := range p.last {
		if primary(d) == "cdn-b" {
			onB[i] = true
		}
	}
	if len(onB) < n/5 {
		t.Fatalf("only %d sessions on cdn-b", len(onB))
	}

	s.CDNs[1].State = CDNDraining
	s.Version++
	drainStart := clk.Now()
	left := map[int]time.Time{}
	p.onPoll = func(i int, prev, d Decision) {
		switch {
		case primary(d) == "cdn-b" && !onB[i]:
			t.Fatalf("session %d newly sent to draining cdn-b", i)
		case primary(d) == "cdn-b" && d.TTL > cfg.TTL:
			t.Fatalf("session %d: TTL %v", i, d.TTL)
		case primary(prev) == "cdn-b" && primary(d) != "cdn-b":
			left[i] = clk.Now()
		}
	}
	p.run(&s, 2*cfg.TTL)
	if len(left) != len(onB) {
		t.Fatalf("%d of %d sessions left cdn-b", len(left), len(onB))
	}
	// The drain clock starts at the first decision after the change,
	// at most one 50 ms step after drainStart.
	deadline := drainStart.Add(cfg.TTL + 50*time.Millisecond)
	buckets := make([]int, 5)
	for i, at := range left {
		if at.After(deadline) {
			t.Fatalf("session %d left at +%v, after one TTL", i, at.Sub(drainStart))
		}
		buckets[min(4, int(at.Sub(drainStart)*5/cfg.TTL))]++
	}
	t.Logf("%d sessions left cdn-b; per fifth of the TTL: %v", len(left), buckets)
	for _, b := range buckets {
		if b > len(onB)/2 {
			t.Fatalf("drain not spread over the TTL: %v", buckets)
		}
	}
}

func TestDrainEdge(t *testing.T) {
	clk := newClock()
	cfg := testConfig()
	e := newEngine(t, cfg, clk, nil)
	s := meshOnly()
	s.Edges = append(s.Edges, Edge{ID: "eu-3", Region: "eu", Addr: addr("192.0.2.16"), Load: 0.3, Alive: true})
	const n = 300
	p := newPoller(t, e, clk, &s, n)
	drained := addr("192.0.2.11") // eu-1
	onEdge := map[int]bool{}
	for i, d := range p.last {
		if d.Pathways[0].Addrs[0] == drained {
			onEdge[i] = true
		}
	}
	if len(onEdge) < n/10 {
		t.Fatalf("only %d sessions on eu-1", len(onEdge))
	}
	s.Edges[0].Drain = true
	s.Version++
	drainStart := clk.Now()
	left := map[int]time.Time{}
	p.onPoll = func(i int, prev, d Decision) {
		first := d.Pathways[0].Addrs[0]
		if primary(d) != MeshID || (first == drained && !onEdge[i]) {
			t.Fatalf("session %d: %s %v", i, primary(d), first)
		}
		if prev.Pathways[0].Addrs[0] == drained && first != drained {
			left[i] = clk.Now()
			if first != addr("192.0.2.12") && first != addr("192.0.2.16") {
				t.Fatalf("session %d left the region: %v", i, first)
			}
		}
	}
	p.run(&s, 2*cfg.TTL)
	if len(left) != len(onEdge) {
		t.Fatalf("%d of %d sessions left eu-1", len(left), len(onEdge))
	}
	for i, at := range left {
		if at.After(drainStart.Add(cfg.TTL + 50*time.Millisecond)) {
			t.Fatalf("session %d left at +%v", i, at.Sub(drainStart))
		}
	}
}

func TestEdgeDownAndCDNUnhealthy(t *testing.T) {
	clk := newClock()
	cfg := testConfig()
	health := healthMap{}
	e := newEngine(t, cfg, clk, health)
	s := world()
	const n = 400
	p := newPoller(t, e, clk, &s, n)

	s.Edges[0].Alive = false // eu-1
	s.Version++
	health["cdn-b"] = true
	changed := clk.Now()
	firstPoll := map[int]bool{}
	p.onPoll = func(i int, prev, d Decision) {
		defer func() { firstPoll[i] = true }()
		if firstPoll[i] {
			return
		}
		// At its first poll after the failure every session is off the
		// failed edge and CDN.
		if primary(d) == "cdn-b" || (primary(d) == MeshID && d.Pathways[0].Addrs[0] == addr("192.0.2.11")) {
			t.Fatalf("session %d still on a failed target at +%v", i, clk.Now().Sub(changed))
		}
		if primary(prev) != primary(d) && primary(prev) != "cdn-b" {
			t.Fatalf("session %d moved %s -> %s without cause", i, primary(prev), primary(d))
		}
	}
	p.run(&s, cfg.TTL)
	if len(firstPoll) != n {
		t.Fatalf("%d of %d polled", len(firstPoll), n)
	}

	// cdn-b comes back: new sessions may go there again.
	health["cdn-b"] = false
	got := 0
	for i := n; i < n+300; i++ {
		if primary(e.Decide(s, clientN(i))) == "cdn-b" {
			got++
		}
	}
	if got == 0 {
		t.Fatal("no new session on the recovered cdn-b")
	}
}

func TestCapacity(t *testing.T) {
	clk := newClock()
	cfg := testConfig()
	cfg.MeshWeight = 1
	e := newEngine(t, cfg, clk, nil)
	s := world()
	s.CDNs = s.CDNs[:1]
	s.CDNs[0].Weight = 1000
	s.CDNs[0].CapacityMbps = 100 // 20 sessions at 5 Mbps
	const n = 100
	count := func() int {
		c := 0
		for i := range n {
			if primary(e.Decide(s, clientN(i))) == "cdn-a" {
				c++
			}
		}
		return c
	}
	if got := count(); got != 20 {
		t.Fatalf("%d sessions on cdn-a, capacity allows 20", got)
	}
	if st := e.Stats(); st.Mbps["cdn-a"] != 100 {
		t.Fatalf("stats %+v", st)
	}
	d := e.Simulate(s, clientN(1000))
	if primary(d.Decision) != MeshID {
		t.Fatalf("new session sent to a full CDN: %v", d.Text)
	}

	// Capacity lowered to 50 Mbps: sessions move off, within the shift
	// budget (10% of 100 sessions per interval).
	s.CDNs[0].CapacityMbps = 50
	s.Version++
	prev := 20
	for r := 1; r <= 4; r++ {
		clk.Add(cfg.Interval)
		got := count()
		if prev-got > 10 {
			t.Fatalf("interval %d: %d sessions moved, limit 10", r, prev-got)
		}
		prev = got
	}
	if prev != 10 {
		t.Fatalf("%d sessions left on cdn-a, capacity allows 10", prev)
	}
}

func TestSessionTableBound(t *testing.T) {
	clk := newClock()
	cfg := testConfig()
	cfg.MaxSessions = 50
	e := newEngine(t, cfg, clk, nil)
	s := world()
	for i := range 200 {
		clk.Add(time.Millisecond)
		e.Decide(s, clientN(i))
	}
	st := e.Stats()
	sum := 0
	for _, c := range st.PerPathway {
		sum += c
	}
	if st.Sessions != 50 || sum != 50 {
		t.Fatalf("stats %+v", st)
	}
	// The oldest were evicted, the newest remembered.
	e.mu.Lock()
	old, recent := e.sessions.get(sessionID(0)), e.sessions.get(sessionID(199))
	e.mu.Unlock()
	if old != nil || recent == nil {
		t.Fatalf("eviction order wrong: old %v recent %v", old != nil, recent != nil)
	}
}

func TestConcurrentUse(t *testing.T) {
	e := newEngine(t, testConfig(), newClock(), nil)
	s := world()
	var wg sync.WaitGroup
	for g := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 300 {
				c := clientN(g*1000 + i%50)
				switch i % 3 {
				case 0:
					e.Decide(s, c)
				case 1:
					e.Simulate(s, c)
				default:
					e.Stats()
				}
			}
		}()
	}
	wg.Wait()
	if st := e.Stats(); st.Sessions != 200 {
		t.Fatalf("sessions %d, want 200", st.Sessions)
	}
}

// TestCapacityBitrate: capacity counts each session's own bitrate.
func TestCapacityBitrate(t *testing.T) {
	cfg := testConfig()
	cfg.MeshWeight = 1
	s := world()
	s.CDNs = s.CDNs[:1]
	s.CDNs[0].Weight = 1000
	s.CDNs[0].CapacityMbps = 100
	const n = 100
	t.Run("reported bitrate changes", func(t *testing.T) {
		e := newEngine(t, cfg, newClock(), nil)
		c := clientN(1)
		d := e.Decide(s, c)
		c.Mbps = 8
		e.Decide(s, c)
		if st := e.Stats(); st.Mbps[primary(d)] != 8 {
			t.Fatalf("stats %+v", st)
		}
	})

	t.Run("bigger sessions", func(t *testing.T) {
		e := newEngine(t, cfg, newClock(), nil)
		c := 0
		for i := range n {
			cl := clientN(i)
			cl.Mbps = 12.5
			if primary(e.Decide(s, cl)) == "cdn-a" {
				c++
			}
		}
		if c != 8 {
			t.Fatalf("%d sessions of 12.5 Mbps on a 100 Mbps CDN", c)
		}
	})
}
