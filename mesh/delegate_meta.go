package mesh

import "github.com/hashicorp/memberlist"

// metaDelegate is memberlist's Delegate: it hands out our Meta and carries
// the mesh's own messages (leave intents) on gossip.
type metaDelegate struct{ m *Mesh }

func (d metaDelegate) NodeMeta(limit int) []byte { return d.m.encodedMeta(limit) }

// NotifyMsg must copy b if it keeps it; handleMsg does.
func (d metaDelegate) NotifyMsg(b []byte) { d.m.handleMsg(b) }

func (d metaDelegate) GetBroadcasts(overhead, limit int) [][]byte {
	return d.m.broadcasts.GetBroadcasts(overhead, limit)
}

// LocalState and MergeRemoteState carry nothing: all state is in node meta.
func (d metaDelegate) LocalState(join bool) []byte { return nil }

func (d metaDelegate) MergeRemoteState(buf []byte, join bool) {}

var _ memberlist.Delegate = metaDelegate{}
