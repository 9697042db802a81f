package control

import (
	"encoding/json"
	"fmt"
	"io"

	"github.com/hashicorp/raft"
)

// imageFormat versions the snapshot encoding.
const imageFormat = 1

// image is the whole replicated state as written to a snapshot: JSON, so an
// operator can read one with jq.
type image struct {
	Format  int          `json:"format"`
	Doc     *Document    `json:"document"`
	Idem    []idemRecord `json:"idempotency"` // oldest first
	History []Change     `json:"history"`     // oldest first
	// Timelines are the output timelines (absent in older snapshots).
	Timelines map[string]*Timeline `json:"timelines,omitempty"`
}

// image copies what Persist needs; the document itself is immutable and
// shared.
func (s *state) image() image {
	img := image{Format: imageFormat, Doc: s.doc,
		Idem: make([]idemRecord, 0, len(s.order)), History: append([]Change(nil), s.history...),
		Timelines: s.timelinesImage()}
	for _, k := range s.order {
		img.Idem = append(img.Idem, s.idem[k])
	}
	return img
}

// readImage rebuilds a state from a snapshot. The document is not validated
// again: it was valid when the commands that made it were applied, and a
// stricter rule in a newer binary must not stop a node from starting.
func readImage(r io.Reader) (*state, error) {
	var img image
	if err := json.NewDecoder(r).Decode(&img); err != nil {
		return nil, fmt.Errorf("control: snapshot: %w", err)
	}
	if img.Format != imageFormat {
		return nil, fmt.Errorf("control: snapshot format %d, this binary reads %d", img.Format, imageFormat)
	}
	st := newState()
	if img.Doc != nil {
		img.Doc.normalize()
		st.doc = img.Doc
	}
	for _, rec := range img.Idem {
		st.remember(rec)
	}
	for _, c := range img.History {
		st.record(c)
	}
	st.restoreTimelines(img.Timelines)
	return st, nil
}

// fsmSnapshot writes one image.
type fsmSnapshot struct {
	img image
}

// Persist implements raft.FSMSnapshot.
func (s *fsmSnapshot) Persist(sink raft.SnapshotSink) error {
	if err := json.NewEncoder(sink).Encode(s.img); err != nil {
		_ = sink.Cancel()
		return fmt.Errorf("control: snapshot: %w", err)
	}
	return sink.Close()
}

// Release implements raft.FSMSnapshot.
func (s *fsmSnapshot) Release() {}

var _ raft.FSMSnapshot = (*fsmSnapshot)(nil)
