package ingest

import (
	"context"
	"fmt"
	"time"

	"github.com/ringside-live/ringside/control"
)

// Failover: every node that receives a feed which is not the active one
// watches the active one and asks the control plane to switch when it
// fails, so the decision needs no extra node and is made once (the switch
// names the feed it leaves; a second node seeing the same failure gets a
// conflict). The active feed's health is the output's progress as the
// control plane sees it (how long since the timeline last grew), so it
// holds when the active feed's node is dead or cut off, not only when its
// encoder is. A switch back to the primary under the auto policy is asked
// for by the node receiving the primary once it has delivered
// HealthySegments segments in a row on time.

// watch makes the failover decision of this node for its feeds.
func (out *output) watch(ctx context.Context) {
	tl := out.o.timeline
	if tl == nil {
		return
	}
	cfg := out.cfg.Load()
	now := out.o.now()
	for _, f := range cfg.Feeds {
		if f.Name == cfg.Active {
			continue
		}
		out.mu.Lock()
		fev := out.feeds[f.Name]
		out.mu.Unlock()
		if fev == nil || !fev.active.Load() {
			continue
		}
		h := out.feedHealth(f.Name)
		h.mu.Lock()
		td := h.target
		h.mu.Unlock()
		// A standby takes over when its last segment is on time: one
		// late segment on a loaded machine must not hold the failover
		// back for a whole run of them. Switching back (auto) asks for a
		// run of on-time ones.
		stall := cfg.stallLimit(td)
		out.mu.Lock()
		recent := now.Sub(out.switched) < stall
		out.mu.Unlock()
		st := h.status(now, stall)
		if recent || !st.Healthy {
			continue // a switch of this node's takes effect first
		}
		reason := ""
		age, empty, err := out.timelineAge(ctx)
		switch {
		case err != nil:
			continue // the control plane cannot be asked: nor could it switch
		case empty:
			// Nothing published yet: the active feed is given a few
			// segments' time to start.
			if st.Streak >= 3 {
				reason = fmt.Sprintf("%s: no output yet while %s delivered %d segments", cfg.Active, f.Name, st.Streak)
			}
		case age > stall:
			reason = fmt.Sprintf("%s: no output segment for %v (limit %v)", cfg.Active, age.Round(time.Millisecond), stall)
		case cfg.SwitchBack == control.SwitchBackAuto && f.Name == control.FeedPrimary:
			if st.Streak >= cfg.healthySegments() {
				reason = fmt.Sprintf("switch back: %s on time for %d segments", f.Name, st.Streak)
			}
		}
		if reason == "" {
			continue
		}
		sctx, cancel := context.WithTimeout(ctx, appendTimeout)
		err = tl.SwitchFeed(sctx, out.id, f.Name, cfg.Active, reason)
		cancel()
		if err != nil {
			out.o.log.Warn("output: switching feeds", "event", out.id, "to", f.Name, "reason", reason, "err", err)
			continue
		}
		out.o.log.Warn("output switched feeds", "event", out.id, "from", cfg.Active, "to", f.Name, "reason", reason)
		out.o.m.feedSwitches.Inc()
		next := *cfg
		next.Active = f.Name // committed: the document will say so too
		out.mu.Lock()
		out.switched = now
		out.mu.Unlock()
		out.configure(next)
		return
	}
}

// timelineAge asks the control plane how long ago the output last grew,
// at most once per outputTick.
func (out *output) timelineAge(ctx context.Context) (time.Duration, bool, error) {
	now := out.o.now()
	out.mu.Lock()
	c := out.ageCache
	out.mu.Unlock()
	if !c.at.IsZero() && now.Sub(c.at) < outputTick {
		return c.age + now.Sub(c.at), c.empty, c.err
	}
	actx, cancel := context.WithTimeout(ctx, appendTimeout)
	age, empty, err := out.o.timeline.TimelineAge(actx, out.id)
	cancel()
	out.mu.Lock()
	out.ageCache.at, out.ageCache.age, out.ageCache.empty, out.ageCache.err = now, age, empty, err
	out.mu.Unlock()
	return age, empty, err
}
