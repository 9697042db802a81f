package mesh

import (
	"context"
	"time"
)

// reconnectLoop retries members that failed (not those that left) every
// ReconnectInterval: after a partition heals, memberlist alone would never
// talk to a member it declared dead again (serf does the same in its
// handleReconnect).
func (m *Mesh) reconnectLoop(ctx context.Context) {
	if m.cfg.ReconnectInterval <= 0 {
		return
	}
	events, unsubscribe := m.Subscribe(256)
	defer unsubscribe()
	tick := time.NewTicker(m.cfg.ReconnectInterval)
	defer tick.Stop()
	failed := map[string]string{} // member id -> gossip address
	for {
		select {
		case <-ctx.Done():
			return
		case ev := <-events:
			switch ev.Type {
			case EventFail:
				failed[ev.Member.ID] = ev.Member.GossipAddr
			case EventJoin, EventLeave:
				delete(failed, ev.Member.ID)
			}
		case <-tick.C:
			if len(failed) == 0 {
				continue
			}
			addrs := make([]string, 0, len(failed))
			for _, a := range failed {
				addrs = append(addrs, a)
			}
			jctx, cancel := context.WithTimeout(ctx, m.cfg.ReconnectInterval)
			if err := m.Join(jctx, addrs); err == nil {
				m.log.Info("reconnected to failed members", "addrs", addrs)
			}
			cancel()
		}
	}
}
