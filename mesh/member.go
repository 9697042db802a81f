package mesh

import "time"

// State is a member's liveness as seen by this node.
type State uint8

// Member states. memberlist does not report suspicion through its public API,
// so listed members are StateAlive; StateDead and StateLeft appear on
// EventFail and EventLeave.
const (
	StateAlive State = iota
	StateSuspect
	StateDead
	StateLeft
)

func (s State) String() string {
	switch s {
	case StateAlive:
		return "alive"
	case StateSuspect:
		return "suspect"
	case StateDead:
		return "dead"
	case StateLeft:
		return "left"
	}
	return "unknown"
}

// Member is one node of the mesh as seen by this node.
type Member struct {
	Meta
	GossipAddr string    // host:port of the member's gossip listener
	State      State     // liveness
	Since      time.Time // when this node saw the member enter State
}

func (m Member) clone() Member {
	m.Meta = m.Meta.clone()
	return m
}

// EventType says what happened to a member.
type EventType uint8

// Event types. EventFail means the member stopped answering; EventLeave means
// it announced its departure first.
const (
	EventJoin EventType = iota
	EventLeave
	EventFail
	EventUpdate
)

func (t EventType) String() string {
	switch t {
	case EventJoin:
		return "join"
	case EventLeave:
		return "leave"
	case EventFail:
		return "fail"
	case EventUpdate:
		return "update"
	}
	return "unknown"
}

// Event is one coalesced membership change. Member is the member's latest
// view: for EventLeave and EventFail, its last known Meta with State
// StateLeft or StateDead.
type Event struct {
	Type   EventType
	Member Member
}
