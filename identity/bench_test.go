package identity_test

import (
	"crypto/tls"
	"net"
	"testing"

	"github.com/ringside-live/ringside/identity"
)

// BenchmarkMutualTLSHandshake is one full node-to-node handshake (TLS 1.3,
// ECDSA P-256 both ways, chain verification and the Peer checks on both
// sides) over net.Pipe, without resumption.
func BenchmarkMutualTLSHandshake(b *testing.B) {
	ca := newCA(b)
	srv := node(b, ca, "shield-1", identity.RoleShield)
	edge := node(b, ca, "edge-1", identity.RoleEdge)
	serverCfg := srv.ServerTLS(identity.HasAny(identity.RoleEdge, identity.RoleShield))
	clientCfg := edge.ClientTLS(identity.All(identity.Is("shield-1"), identity.HasAny(identity.RoleShield)))
	b.ReportAllocs()
	for b.Loop() {
		c1, c2 := net.Pipe()
		done := make(chan error, 1)
		go func() { done <- tls.Server(c2, serverCfg).Handshake() }()
		if err := tls.Client(c1, clientCfg).Handshake(); err != nil {
			b.Fatal(err)
		}
		if err := <-done; err != nil {
			b.Fatal(err)
		}
		c1.Close()
		c2.Close()
	}
}
