package control

import (
	"encoding/json"
	"fmt"
)

// EncodeDocument writes d as JSON: the wire format between a voter and its
// followers and the format of a follower's persisted copy.
func EncodeDocument(d *Document) ([]byte, error) {
	b, err := json.Marshal(d)
	if err != nil {
		return nil, fmt.Errorf("control: encode document: %w", err)
	}
	return b, nil
}

// DecodeDocument reads a document written by EncodeDocument and validates
// it (a *ValidationError wrapping ErrInvalid if it breaks a rule). Unknown
// fields are ignored, so a follower keeps working when a newer voter adds
// one. The result is a fresh document the caller may publish read-only.
func DecodeDocument(b []byte) (*Document, error) {
	var d Document
	if err := json.Unmarshal(b, &d); err != nil {
		return nil, fmt.Errorf("control: decode document: %w", err)
	}
	d.normalize()
	if err := validateDocument(&d); err != nil {
		return nil, err
	}
	return &d, nil
}
