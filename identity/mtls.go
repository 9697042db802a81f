package identity

import (
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"time"
)

// ServerTLS is the tls.Config of a node-to-node listener: TLS 1.3 only,
// this node's current certificate (GetCertificate), a client certificate
// required and verified against the current CA bundle for client
// authentication, and the client's Peer passed to authorize, whose error
// fails the handshake (nil admits every cluster member). Use FromConnState
// on the connection to learn who is on the other end.
//
// The chain is verified in VerifyConnection rather than by crypto/tls
// (ClientAuth is RequireAnyClientCert, ClientCAs unset) because ClientCAs
// is fixed in a Config: this way a reloaded CA bundle applies to the next
// handshake, resumed sessions included, while the returned Config stays
// one complete, static value that may be cloned and given NextProtos (a
// GetConfigForClient would hide such changes from the handshake).
func (s *Source) ServerTLS(authorize func(Peer) error) *tls.Config {
	return &tls.Config{
		MinVersion: tls.VersionTLS13,
		ClientAuth: tls.RequireAnyClientCert,
		GetCertificate: func(*tls.ClientHelloInfo) (*tls.Certificate, error) {
			return &s.cur.Load().cert, nil
		},
		VerifyConnection: func(cs tls.ConnectionState) error {
			return s.verifyPeer(cs, x509.ExtKeyUsageClientAuth, authorize)
		},
		Time: s.now,
	}
}

// ClientTLS is the tls.Config for dialing another node: TLS 1.3 only, this
// node's current certificate presented, and the server verified by its
// identity rather than its host name: the chain is checked against the
// current CA bundle (for server authentication) in VerifyConnection, so a
// peer dialed by IP address works, and the server's Peer is passed to
// expect, whose error fails the handshake (nil admits every cluster member).
// ServerName is not needed; set it only for SNI.
func (s *Source) ClientTLS(expect func(Peer) error) *tls.Config {
	return &tls.Config{
		MinVersion: tls.VersionTLS13,
		// The default verification checks the host name; VerifyConnection
		// verifies the chain instead, and runs on resumed sessions too.
		InsecureSkipVerify: true,
		GetClientCertificate: func(*tls.CertificateRequestInfo) (*tls.Certificate, error) {
			return &s.cur.Load().cert, nil
		},
		VerifyConnection: func(cs tls.ConnectionState) error {
			return s.verifyPeer(cs, x509.ExtKeyUsageServerAuth, expect)
		},
		Time: s.now,
	}
}

// verifyPeer verifies the peer's chain against the current CA bundle for
// usage, reads its Peer and passes it to check (nil admits it).
func (s *Source) verifyPeer(cs tls.ConnectionState, usage x509.ExtKeyUsage, check func(Peer) error) error {
	if len(cs.PeerCertificates) == 0 {
		return fmt.Errorf("%w: the peer presented no certificate", ErrBadCertificate)
	}
	if err := verifyChain(cs.PeerCertificates, s.cur.Load().pool, usage, s.now()); err != nil {
		return fmt.Errorf("identity: peer certificate %q: %w", cs.PeerCertificates[0].Subject.CommonName, err)
	}
	p, err := FromConnState(cs)
	if err != nil || check == nil {
		return err
	}
	return check(p)
}

// verifyChain checks that chain[0] chains to pool through chain[1:] at now
// and allows usage. The error is crypto/x509's, for the caller to wrap.
func verifyChain(chain []*x509.Certificate, pool *x509.CertPool, usage x509.ExtKeyUsage, now time.Time) error {
	opts := x509.VerifyOptions{Roots: pool, CurrentTime: now, KeyUsages: []x509.ExtKeyUsage{usage}}
	if len(chain) > 1 {
		opts.Intermediates = x509.NewCertPool()
		for _, c := range chain[1:] {
			opts.Intermediates.AddCert(c)
		}
	}
	_, err := chain[0].Verify(opts)
	return err
}
