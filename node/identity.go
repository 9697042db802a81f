package node

import (
	"errors"
	"fmt"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/ringside-live/ringside/control"
	"github.com/ringside-live/ringside/identity"
)

// loadIdentity reads the node's certificate (identity section): it must
// name this node and grant every role the node is configured with.
func (n *running) loadIdentity() error {
	if !n.cfg.Identity.set() {
		return nil
	}
	ic := identity.DefaultConfig()
	ic.NodeID = n.cfg.Node.ID
	ic.Files = identity.Files{Cert: n.cfg.Identity.Cert, Key: n.cfg.Identity.Key, CA: n.cfg.Identity.CA}
	src, err := identity.LoadSource(ic, identity.Deps{Logger: n.log.With("component", "identity")})
	if err != nil {
		return fmt.Errorf("node: identity: %w", err)
	}
	peer := src.Peer()
	for _, r := range n.cfg.Node.Roles {
		if !peer.HasRole(r) {
			return fmt.Errorf("node: identity.cert: the certificate of %s grants roles %v, not %q from node.roles",
				peer.ID, peer.Roles, r)
		}
	}
	n.id = src
	n.reg.MustRegister(prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "ringside_tls_cert_expiry_seconds",
		Help: "When a certificate this node presents expires (Unix seconds).", ConstLabels: prometheus.Labels{"cert": "node"}},
		func() float64 { return float64(src.NotAfter().Unix()) }))
	return nil
}

// loadHTTPS reads the players' HTTPS certificates (http.tls) and the
// admin listener's (admin.tls).
func (n *running) loadHTTPS() error {
	var err error
	if n.lis.https != nil {
		if n.https, err = n.loadKeyPairs("https", n.cfg.HTTP.TLS); err != nil {
			return fmt.Errorf("node: http.tls: %w", err)
		}
	}
	if n.lis.admin != nil && len(n.cfg.Admin.TLS) > 0 {
		if n.adminTLS, err = n.loadKeyPairs("admin", n.cfg.Admin.TLS); err != nil {
			return fmt.Errorf("node: admin.tls: %w", err)
		}
	}
	return nil
}

// loadKeyPairs loads certificates served to clients (not node
// identities) and exports their expiry as cert=name.
func (n *running) loadKeyPairs(name string, cfg []KeyPairConfig) (*identity.KeyPairs, error) {
	var pairs []identity.KeyPairFiles
	for _, kp := range cfg {
		pairs = append(pairs, identity.KeyPairFiles{Cert: kp.Cert, Key: kp.Key})
	}
	kp, err := identity.LoadKeyPairs(pairs, identity.Deps{Logger: n.log.With("component", name)})
	if err != nil {
		return nil, err
	}
	n.reg.MustRegister(prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "ringside_tls_cert_expiry_seconds",
		Help: "When a certificate this node presents expires (Unix seconds).", ConstLabels: prometheus.Labels{"cert": name}},
		func() float64 { return float64(kp.NotAfter().Unix()) }))
	return kp, nil
}

// raftTLS is the voter's Raft transport security: only control
// certificates connect, and it dials only control certificates (nil
// without an identity: plain TCP, loopback only, see validateIdentity).
func (n *running) raftTLS() *control.TransportTLS {
	if n.id == nil {
		return nil
	}
	voter := identity.HasAny(identity.RoleControl)
	return &control.TransportTLS{Server: n.id.ServerTLS(voter), Client: n.id.ClientTLS(voter)}
}

// runIdentity re-reads the certificate files when they change.
func (n *running) runIdentity() {
	if n.tickets != nil {
		n.wg.Go(n.tickets.run)
	}
	if n.id != nil {
		n.wg.Go(func() { n.id.Run(n.ctx) })
	}
	for _, kp := range []*identity.KeyPairs{n.https, n.adminTLS} {
		if kp != nil {
			n.wg.Go(func() { kp.Run(n.ctx, 10*time.Second) })
		}
	}
}

// Reload re-reads the node's certificate files now (SIGHUP), in addition
// to the periodic check; bad files keep the current certificate.
func (n *Node) Reload() error {
	r := n.running()
	if r == nil {
		return nil
	}
	var errs []error
	if r.id != nil {
		errs = append(errs, r.id.Reload())
	}
	for _, kp := range []*identity.KeyPairs{r.https, r.adminTLS} {
		if kp != nil {
			errs = append(errs, kp.Reload())
		}
	}
	return errors.Join(errs...)
}
