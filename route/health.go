package route

import (
	"context"
	"errors"
	"sync"
	"time"
)

// peerHealth remembers the peers that did not answer at all: a connect
// refused or timed out, no response headers in time, a connection cut
// before them. After DownAfter such failures in a row a peer is "down" for
// DownFor: fetches ask it only after every other candidate and fills skip
// it. Gossip takes seconds to call an unreachable node dead (longer still
// on a node that is itself cut off: Lifeguard stretches its timeouts),
// and meanwhile every miss routed to it would wait the peer timeout
// before failing over. Any answer from the peer (even a 5xx: its
// upstream's trouble, not its own) makes it healthy again; so does the
// end of DownFor, after which one failure marks it down again.
//
// It only reorders: a down peer is still asked when the others fail, so
// a wrong guess costs a timeout, never a lost request, and every node
// still fails over to the same next owner in rendezvous order (the
// stampede on a segment still meets at one node).
type peerHealth struct {
	after int
	hold  time.Duration
	now   func() time.Time

	mu    sync.Mutex
	peers map[string]*peerState // only peers with failures; bounded by the mesh's members
}

type peerState struct {
	fails int       // transport failures in a row
	until time.Time // down until then, when fails >= after
}

func newPeerHealth(after int, hold time.Duration, now func() time.Time) *peerHealth {
	return &peerHealth{after: after, hold: hold, now: now, peers: map[string]*peerState{}}
}

// result records the outcome of one request to peer id: err is the
// transport error (nil: the peer answered). Errors of the caller's own
// context (the player went away, the fetch's deadline) say nothing
// about the peer. It reports whether this failure marked the peer down.
func (h *peerHealth) result(ctx context.Context, id string, err error) bool {
	if h == nil || h.after <= 0 {
		return false
	}
	if err != nil && (ctx.Err() != nil || errors.Is(err, context.Canceled)) {
		return false
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	st := h.peers[id]
	if err == nil {
		if st != nil {
			delete(h.peers, id)
		}
		return false
	}
	if st == nil {
		st = &peerState{}
		h.peers[id] = st
	}
	st.fails++
	if st.fails < h.after {
		return false
	}
	st.until = h.now().Add(h.hold)
	return true
}

// down reports whether id is down now.
func (h *peerHealth) down(id string) bool {
	if h == nil {
		return false
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	st := h.peers[id]
	return st != nil && st.fails >= h.after && h.now().Before(st.until)
}

// order returns ids with the peers that are down moved to the end, the
// order otherwise kept; ids itself when none is down.
func (h *peerHealth) order(ids []string) []string {
	if h == nil || len(ids) < 2 {
		return ids
	}
	h.mu.Lock()
	empty := len(h.peers) == 0
	h.mu.Unlock()
	if empty {
		return ids
	}
	var up, down []string
	for i, id := range ids {
		if !h.down(id) {
			if down != nil {
				up = append(up, id)
			}
			continue
		}
		if down == nil {
			up = append(make([]string, 0, len(ids)), ids[:i]...)
		}
		down = append(down, id)
	}
	if down == nil {
		return ids
	}
	return append(up, down...)
}
