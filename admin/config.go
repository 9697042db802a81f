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
	// LeaderWait is how long a control voter that knows no leader (an
	// election is under way, or it is cut off from the others) waits for
	// one before it answers a write or a consistent read 503 with
	// Retry-After. An election ends well within it, and the call then
	// goes to the new leader with a definite outcome; a cut-off voter
	// answers after it, never trying voters it cannot reach.
	LeaderWait time.Duration
}

// DefaultConfig returns the defaults; NodeID and Token are still to be set.
func DefaultConfig() Config {
	return Config{ForwardTimeout: 10 * time.Second, LeaderWait: 3 * time.Second}
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
	if c.LeaderWait < 0 {
		errs = append(errs, fmt.Errorf("admin: LeaderWait %v must not be negative", c.LeaderWait))
	}
	return errors.Join(errs...)
}

// withDefaults fills the zero fields.
func (c Config) withDefaults() Config {
	if c.ForwardTimeout == 0 {
		c.ForwardTimeout = DefaultConfig().ForwardTimeout
	}
	if c.LeaderWait == 0 {
		c.LeaderWait = DefaultConfig().LeaderWait
	}
	return c
}
