package admin

import (
	"errors"
	"fmt"
	"time"
)

// Config configures the admin API of one node.
type Config struct {
	// NodeID is this node's mesh id: it marks the self entry of
	// /admin/v1/nodes, names the node in the actor of the writes operators
	// make through it ("alice@ID"), and is what forwarded calls' proofs
	// must be signed for.
	NodeID string
	// Token grants everything; "" disables the API (404 on every route), so
	// a node without a configured token never exposes its operator API.
	Token string
	// ReadOnlyToken may only GET; a write with it answers 403.
	ReadOnlyToken string
	// ForwardTimeout bounds one whole forwarded call (connect, send, the
	// remote commit, the answer). It is longer than the media plane's peer
	// timeout because the remote end waits for a Raft commit.
	ForwardTimeout time.Duration
}

// DefaultConfig returns the defaults; NodeID and Token are still to be set.
func DefaultConfig() Config {
	return Config{ForwardTimeout: 10 * time.Second}
}

// Validate reports every problem at once.
func (c Config) Validate() error {
	var errs []error
	if c.NodeID == "" {
		errs = append(errs, errors.New("admin: NodeID is required"))
	}
	if c.ForwardTimeout < 0 {
		errs = append(errs, fmt.Errorf("admin: ForwardTimeout %v must not be negative", c.ForwardTimeout))
	}
	return errors.Join(errs...)
}

// withDefaults fills the zero fields.
func (c Config) withDefaults() Config {
	if c.ForwardTimeout == 0 {
		c.ForwardTimeout = DefaultConfig().ForwardTimeout
	}
	return c
}
