package mesh

import "github.com/hashicorp/memberlist"

// eventDelegate is memberlist's EventDelegate: it forwards raw join, leave
// and update notifications to the Mesh's coalescing window. memberlist
// reports a failure and a graceful leave alike through NotifyLeave, so both
// arrive as EventFail; leave intents tell them apart at flush time.
type eventDelegate struct{ m *Mesh }

func (d eventDelegate) NotifyJoin(n *memberlist.Node) { d.m.observe(EventJoin, n) }

func (d eventDelegate) NotifyLeave(n *memberlist.Node) { d.m.observe(EventFail, n) }

func (d eventDelegate) NotifyUpdate(n *memberlist.Node) { d.m.observe(EventUpdate, n) }

var _ memberlist.EventDelegate = eventDelegate{}
