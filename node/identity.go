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

// loadHTTPS reads the players' HTTPS certificates (http.tls).
func (n *running) loadHTTPS() error {
	if n.lis.https == nil {
		return nil
	}
	var pairs []identity.KeyPairFiles
	for _, kp := range n.cfg.HTTP.TLS {
		pairs = append(pairs, identity.KeyPairFiles{Cert: kp.Cert, Key: kp.Key})
	}
	kp, err := identity.LoadKeyPairs(pairs, identity.Deps{Logger: n.log.With("component", "https")})
	if err != nil {
		return fmt.Errorf("node: http.tls: %w", err)
	}
	n.https = kp
	n.reg.MustRegister(prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "ringside_tls_cert_expiry_seconds",
		Help: "When a certificate this node presents expires (Unix seconds).", ConstLabels: prometheus.Labels{"cert": "https"}},
		func() float64 { return float64(kp.NotAfter().Unix()) }))
	return nil
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
	if n.id != nil {
		n.wg.Go(func() { n.id.Run(n.ctx) })
	}
	if n.https != nil {
		n.wg.Go(func() { n.https.Run(n.ctx, 10*time.Second) })
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
	if r.https != nil {
		errs = append(errs, r.https.Reload())
	}
	return errors.Join(errs...)
}
