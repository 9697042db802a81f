package steering

import (
	"math"
	"time"
)

// choice is the pathway (and, on the mesh, the edge) a client gets.
type choice struct {
	cand *candidate
	edge int // index into Snapshot.Edges, -1 for none
	why  string
	ttl  time.Duration // 0 = Config.TTL
}

// assign chooses for the client: its sticky pathway while that stays
// eligible, else a weighted choice. With commit it records the result.
func (d *decider) assign() choice {
	commit := d.commit
	id := d.c.Session
	if id == "" {
		return d.pickNew("", "weighted choice")
	}
	t := d.e.sessions
	sess := t.get(id)
	var ch choice
	if sess == nil {
		ch = d.pickNew("", "new session, weighted choice")
	} else {
		ch = d.sticky(sess)
	}
	if !commit || ch.cand == nil {
		return ch
	}
	edgeID := ""
	if ch.edge >= 0 {
		edgeID = d.s.Edges[ch.edge].ID
	}
	if sess == nil {
		network := networkOf(d.c.Addr, d.e.cfg.NetworkBits4, d.e.cfg.NetworkBits6)
		if !t.room(network) {
			d.reason("client network %s holds %d sessions: this one is not remembered", network, d.e.cfg.SessionsPerNetwork)
			return ch
		}
		t.add(id, network, ch.cand.id, edgeID, d.mbps(), d.now)
		return ch
	}
	t.touch(sess, d.now)
	if d.c.Mbps > 0 && d.c.Mbps != sess.mbps {
		t.setMbps(sess, d.c.Mbps) // the player reported a new bitrate
	}
	if sess.pathway != ch.cand.id || sess.edge != edgeID {
		t.assign(sess, ch.cand.id, edgeID)
	}
	return ch
}

// sticky decides for a known session: stay, leave a pathway that is no
// longer eligible (or whose drain deadline for this session has come), or
// move for rebalancing while the interval's budget lasts.
func (d *decider) sticky(sess *session) choice {
	cand := d.find(sess.pathway)
	if cand == nil || !cand.keep {
		why := "gone"
		if cand != nil {
			why = cand.why
		}
		d.reason("session left %s: %s", sess.pathway, why)
		return d.pickNew(sess.pathway, "moved off "+sess.pathway+" ("+why+")")
	}
	ch := choice{cand: cand, edge: -1, why: "sticky"}
	if cand.draining {
		left, ok := d.drainLeft(cand.drainSince, sess)
		if !ok {
			if to := d.pickNew(cand.id, "moved off "+cand.id+" (draining)"); to.cand != nil {
				d.reason("session left draining %s", cand.id)
				return to
			}
			d.reason("session stays on draining %s: nowhere else to go", cand.id)
			return choice{cand: cand, edge: -1, why: "draining, nowhere else", ttl: d.e.cfg.MinTTL}
		}
		ch.ttl, ch.why = left, "sticky while draining"
		return ch
	}
	if cand.kind == KindMesh {
		ch.edge, ch.ttl, ch.why = d.stickyEdge(cand, sess)
	}
	if to := d.rebalanceTarget(cand); to != nil {
		if d.commit {
			d.e.budget--
		}
		d.reason("session rebalanced from %s to %s", cand.id, to.id)
		return choice{cand: to, edge: d.pickEdge(to), why: "rebalanced from " + cand.id}
	}
	return ch
}

// drainLeft returns how long a session may stay on something draining
// since since, and false when it must move now.
func (d *decider) drainLeft(since time.Time, sess *session) (time.Duration, bool) {
	deadline := since.Add(time.Duration(sess.spread * float64(d.e.cfg.TTL)))
	left := deadline.Sub(d.now)
	return left, left >= d.e.cfg.MinTTL
}

// stickyEdge keeps a mesh session on its edge while the edge is alive and
// undrained (or draining but before the session's deadline); otherwise it
// picks another edge.
func (d *decider) stickyEdge(cand *candidate, sess *session) (int, time.Duration, string) {
	i, ok := d.v.edgeIdx[sess.edge]
	if !ok {
		d.reason("session's edge %s is gone", sess.edge)
		return d.pickEdge(cand), 0, "new edge (" + sess.edge + " gone)"
	}
	ed := &d.s.Edges[i]
	switch {
	case !ed.Alive || !ed.Addr.IsValid():
		d.reason("session's edge %s is down", ed.ID)
		return d.pickEdge(cand), 0, "new edge (" + ed.ID + " down)"
	case ed.Drain:
		left, ok := d.drainLeft(d.e.edgeDrain[ed.ID], sess)
		if !ok {
			d.reason("session left draining edge %s", ed.ID)
			return d.pickEdge(cand), 0, "new edge (" + ed.ID + " draining)"
		}
		return i, left, "sticky while edge drains"
	}
	return i, 0, "sticky"
}

// pickNew makes a weighted choice among the pathways taking new sessions
// (other than exclude); when none does, among those that are full.
func (d *decider) pickNew(exclude, why string) choice {
	for _, pass := range []func(*candidate) bool{
		func(c *candidate) bool { return c.fresh },
		func(c *candidate) bool { return c.full },
	} {
		var pool []*candidate
		total := 0
		for i := range d.cands {
			if c := &d.cands[i]; c.id != exclude && pass(c) {
				pool = append(pool, c)
				total += c.weight
			}
		}
		if len(pool) == 0 {
			continue
		}
		pick := pool[0] // all weights 0: the first in priority order
		if total > 0 {
			r := d.e.rnd.IntN(total)
			for _, c := range pool {
				if r -= c.weight; r < 0 {
					pick = c
					break
				}
			}
		}
		if pick.full {
			why += ", every pathway full"
		}
		return choice{cand: pick, edge: d.pickEdge(pick), why: why}
	}
	return choice{edge: -1}
}

// pickEdge chooses a mesh edge for a new session: among the open edges of
// the client's region (or all open edges when the region has none),
// weighted by headroom below high water; when no edge is open, the least
// loaded. It returns -1 for a CDN.
func (d *decider) pickEdge(c *candidate) int {
	if c.kind != KindMesh || len(c.ranked) == 0 {
		return -1
	}
	edges := d.s.Edges
	pool := c.open
	if len(pool) == 0 {
		return c.ranked[0]
	}
	if d.region != "" && edges[pool[0]].Region == d.region {
		n := 0
		for n < len(pool) && edges[pool[n]].Region == d.region {
			n++
		}
		pool = pool[:n]
	}
	total := 0.0
	for _, i := range pool {
		total += d.e.cfg.HighWater - edges[i].Load
	}
	r := d.e.rnd.Float64() * total
	for _, i := range pool {
		if r -= d.e.cfg.HighWater - edges[i].Load; r < 0 {
			return i
		}
	}
	return pool[len(pool)-1]
}

// rebalanceTarget returns where to move a session on cur when the
// interval's shift budget allows and cur holds more than its weight's
// share of sessions (or more than its capacity), or nil.
//
// The share test has hysteresis: a pathway starts shedding sessions when
// it is over its share by more than the slack plus three standard
// deviations of random assignment (so noise alone moves nobody), and then
// keeps shedding until it is back at its share.
func (d *decider) rebalanceTarget(cur *candidate) *candidate {
	t := d.e.sessions
	total := float64(t.len())
	if d.e.budget <= 0 || total == 0 {
		return nil
	}
	sumW := 0
	for i := range d.cands {
		if c := &d.cands[i]; c.keep && !c.draining {
			sumW += c.weight
		}
	}
	if sumW == 0 {
		return nil
	}
	share := float64(cur.weight) / float64(sumW)
	excess := float64(t.count[cur.id]) - share*total
	start := d.e.cfg.RebalanceSlack*total + 3*math.Sqrt(total*share*(1-share))
	shedding := d.e.shedding[cur.id]
	switch {
	case excess > start:
		shedding = true
	case excess < 1:
		shedding = false
	}
	if shedding != d.e.shedding[cur.id] && d.commit {
		if shedding {
			d.e.shedding[cur.id] = true
		} else {
			delete(d.e.shedding, cur.id)
		}
	}
	over := cur.cdn != nil && cur.cdn.CapacityMbps > 0 && t.mbps[cur.id] > float64(cur.cdn.CapacityMbps)
	if !shedding && !over {
		return nil
	}
	// Move to the fresh pathway furthest below its share; over capacity,
	// to the least over it.
	var best *candidate
	bestDeficit := math.Inf(-1)
	for i := range d.cands {
		c := &d.cands[i]
		if c == cur || !c.fresh {
			continue
		}
		deficit := float64(c.weight)/float64(sumW)*total - float64(t.count[c.id])
		if deficit > bestDeficit && (deficit > 0 || over) {
			best, bestDeficit = c, deficit
		}
	}
	return best
}
