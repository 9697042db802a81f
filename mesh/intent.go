package mesh

import (
	"encoding/json"
	"slices"
	"time"

	"github.com/hashicorp/memberlist"
)

// memberlist reports a member that left and one that failed the same way
// (its Node.State is not kept up to date), so a leaving node first gossips a
// leave intent. Members that hear it rebroadcast it once and, if the member's
// departure is flushed while the intent is fresh, report EventLeave instead
// of EventFail. A member that misses the intent reports EventFail.

// msgLeaveIntent is the first byte of a leave-intent user message.
const msgLeaveIntent byte = 1

type leaveIntent struct {
	ID string `json:"id"`
	At int64  `json:"at"` // unix nanoseconds when the leave began; orders repeated leaves
}

// intent is a leave intent as held by a receiver.
type intent struct {
	at   int64
	seen time.Time
}

// intentTTL is how long a heard intent can turn a departure into a leave: the
// leaving node sends its leave message within BroadcastTimeout of its intent.
func (m *Mesh) intentTTL() time.Duration {
	return 2*m.cfg.BroadcastTimeout + m.cfg.CoalescePeriod
}

// intentBroadcast queues a leave intent on memberlist's gossip; a newer
// intent of the same member replaces an older one.
type intentBroadcast struct {
	id     string
	msg    []byte
	notify chan struct{} // closed when no longer transmitted; nil if nobody waits
}

func (b *intentBroadcast) Invalidates(memberlist.Broadcast) bool { return false }
func (b *intentBroadcast) Name() string                          { return "leave/" + b.id }
func (b *intentBroadcast) Message() []byte                       { return b.msg }
func (b *intentBroadcast) Finished() {
	if b.notify != nil {
		close(b.notify)
	}
}

var _ memberlist.NamedBroadcast = (*intentBroadcast)(nil)

// announceLeave gossips our leave intent and waits until it has been sent
// its full number of times, or timeout.
func (m *Mesh) announceLeave(timeout time.Duration) {
	in := leaveIntent{ID: m.id, At: m.now().UnixNano()}
	body, _ := json.Marshal(in) // cannot fail: strings and an int
	m.recordIntent(in)
	done := make(chan struct{})
	m.broadcasts.QueueBroadcast(&intentBroadcast{
		id: m.id, msg: append([]byte{msgLeaveIntent}, body...), notify: done,
	})
	t := time.NewTimer(timeout)
	defer t.Stop()
	select {
	case <-done:
	case <-t.C:
		m.log.Debug("leave intent not fully sent", "timeout", timeout)
	}
}

// handleMsg takes a user message off gossip. b is memberlist's buffer.
func (m *Mesh) handleMsg(b []byte) {
	if len(b) == 0 || b[0] != msgLeaveIntent {
		return
	}
	var in leaveIntent
	if err := json.Unmarshal(b[1:], &in); err != nil || in.ID == "" {
		m.log.Debug("bad leave intent", "err", err)
		return
	}
	if in.ID == m.id || !m.recordIntent(in) {
		return
	}
	m.broadcasts.QueueBroadcast(&intentBroadcast{id: in.ID, msg: slices.Clone(b)})
}

// recordIntent notes in and reports whether it is news.
func (m *Mesh) recordIntent(in leaveIntent) bool {
	m.stateMu.Lock()
	defer m.stateMu.Unlock()
	now := m.now()
	for id, old := range m.leaving {
		if now.Sub(old.seen) > m.intentTTL() {
			delete(m.leaving, id)
		}
	}
	if old, ok := m.leaving[in.ID]; ok && old.at >= in.At {
		return false
	}
	m.leaving[in.ID] = intent{at: in.At, seen: now}
	return true
}

// consumeIntent reports whether id announced its leave recently, and forgets
// the intent. Called by flush with stateMu held.
func (m *Mesh) consumeIntent(id string) bool {
	in, ok := m.leaving[id]
	if !ok {
		return false
	}
	delete(m.leaving, id)
	return m.now().Sub(in.seen) <= m.intentTTL()
}
