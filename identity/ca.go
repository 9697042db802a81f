package identity

import (
	"bytes"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"errors"
	"fmt"
	"io/fs"
	"math/big"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"
)

// Defaults of NewCA and Issue, and the names of the files they write.
const (
	DefaultCATTL     = 10 * 365 * 24 * time.Hour
	DefaultNodeTTL   = 365 * 24 * time.Hour
	DefaultCAName    = "Ringside cluster CA"
	CACertFile       = "ca.pem"
	CAKeyFile        = "ca-key.pem"
	backdate         = 5 * time.Minute // NotBefore is this early, for clocks that lag
	maxHostnameBytes = 253
)

// defaultHosts are the SANs of a node certificate issued without hosts: the
// loopback names, enough for a node to serve HTTPS to itself and tests.
var defaultHosts = []string{"127.0.0.1", "::1", "localhost"}

// CA is a cluster certificate authority: the certificate every node trusts
// and the key that signs node certificates.
type CA struct {
	Cert *x509.Certificate
	Key  crypto.Signer
	// Chain is the rest of ca.pem after Cert when Cert is an operator's
	// intermediate CA: Issue appends Cert and Chain (without the root) to
	// the node certificates it writes, so nodes trusting only the root
	// verify them.
	Chain []*x509.Certificate
	// Now dates the certificates Issue signs; nil is time.Now. Tests set it
	// to issue certificates that are already expired.
	Now func() time.Time
}

// NodeCert is an issued node certificate and its new private key.
type NodeCert struct {
	Peer    Peer
	Cert    *x509.Certificate
	CertPEM []byte
	KeyPEM  []byte // PKCS#8
}

// NewCA creates a self-signed cluster CA (ECDSA P-256) valid for ttl (0 is
// DefaultCATTL), named DefaultCAName. It may sign node certificates only,
// not intermediate CAs.
func NewCA(ttl time.Duration) (*CA, error) {
	if ttl < 0 {
		return nil, fmt.Errorf("identity: CA ttl %v is negative", ttl)
	}
	if ttl == 0 {
		ttl = DefaultCATTL
	}
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, fmt.Errorf("identity: CA key: %w", err)
	}
	now := time.Now()
	tmpl := &x509.Certificate{
		SerialNumber:          serial(),
		Subject:               pkix.Name{CommonName: DefaultCAName, Organization: []string{"Ringside"}},
		NotBefore:             now.Add(-backdate),
		NotAfter:              now.Add(ttl),
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageCRLSign | x509.KeyUsageDigitalSignature,
		BasicConstraintsValid: true,
		IsCA:                  true,
		MaxPathLenZero:        true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, key.Public(), key)
	if err != nil {
		return nil, fmt.Errorf("identity: CA certificate: %w", err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		return nil, fmt.Errorf("identity: CA certificate: %w", err)
	}
	return &CA{Cert: cert, Key: key}, nil
}

// LoadCA reads dir/ca.pem and dir/ca-key.pem: a CA made by NewCA or the
// operator's own (any key crypto/x509 can sign with; an intermediate CA
// first in ca.pem, then its chain). The first certificate must be a CA and
// match the key.
func LoadCA(dir string) (*CA, error) {
	certPath, keyPath := filepath.Join(dir, CACertFile), filepath.Join(dir, CAKeyFile)
	certPEM, err := os.ReadFile(certPath)
	if err != nil {
		return nil, fmt.Errorf("identity: %w", err)
	}
	keyPEM, err := os.ReadFile(keyPath)
	if err != nil {
		return nil, fmt.Errorf("identity: %w", err)
	}
	certs, err := parseCerts(certPath, certPEM)
	if err != nil {
		return nil, err
	}
	key, err := parseKey(keyPath, keyPEM)
	if err != nil {
		return nil, err
	}
	cert := certs[0]
	if !cert.IsCA {
		return nil, fmt.Errorf("identity: %s is not a CA certificate", certPath)
	}
	if !publicKeyEqual(key, cert.PublicKey) {
		return nil, fmt.Errorf("identity: %s does not match %s", keyPath, certPath)
	}
	return &CA{Cert: cert, Key: key, Chain: certs[1:]}, nil
}

// CertPEM is the CA certificate as PEM: the bundle nodes trust.
func (ca *CA) CertPEM() []byte { return encodePEM("CERTIFICATE", ca.Cert.Raw) }

// WriteFiles writes dir/ca.pem (0644) and dir/ca-key.pem (0600), creating
// dir (0700) if needed. An existing CA is an error wrapping fs.ErrExist
// unless force: replacing it orphans every node certificate it issued.
func (ca *CA) WriteFiles(dir string, force bool) (certPath, keyPath string, err error) {
	certPath, keyPath = filepath.Join(dir, CACertFile), filepath.Join(dir, CAKeyFile)
	if !force {
		for _, p := range []string{certPath, keyPath} {
			if _, err := os.Lstat(p); err == nil {
				return "", "", fmt.Errorf("identity: %s exists: a new CA would orphan the certificates it issued: %w", p, fs.ErrExist)
			}
		}
	}
	keyPEM, err := encodeKey(ca.Key)
	if err != nil {
		return "", "", err
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return "", "", fmt.Errorf("identity: %w", err)
	}
	if err := writeFile(keyPath, keyPEM, keyMode); err != nil {
		return "", "", err
	}
	if err := writeFile(certPath, ca.CertPEM(), certMode); err != nil {
		return "", "", err
	}
	return certPath, keyPath, nil
}

// Issue signs a node certificate (new ECDSA P-256 key) for nodeID with
// roles, valid for ttl (0 is DefaultNodeTTL, never past the CA's own
// expiry), for both server and client authentication. Its identity is the
// URI SAN urn:ringside:node:<id>, its roles urn:ringside:role:<role>; hosts
// (IP addresses or DNS names, default 127.0.0.1, ::1, localhost) become IP
// and DNS SANs so the same certificate serves HTTPS.
func (ca *CA) Issue(nodeID string, roles []string, ttl time.Duration, hosts []string) (*NodeCert, error) {
	peer, err := newPeer(nodeID, roles)
	if err != nil {
		return nil, err
	}
	if ttl < 0 {
		return nil, fmt.Errorf("identity: ttl %v is negative", ttl)
	}
	if ttl == 0 {
		ttl = DefaultNodeTTL
	}
	if len(hosts) == 0 {
		hosts = defaultHosts
	}
	tmpl, err := nodeTemplate(peer, hosts)
	if err != nil {
		return nil, err
	}
	now := time.Now()
	if ca.Now != nil {
		now = ca.Now()
	}
	tmpl.NotBefore, tmpl.NotAfter = now.Add(-backdate), now.Add(ttl)
	if tmpl.NotAfter.After(ca.Cert.NotAfter) {
		tmpl.NotAfter = ca.Cert.NotAfter
	}
	return ca.sign(peer, tmpl)
}

// sign makes a key for tmpl and signs it.
func (ca *CA) sign(peer Peer, tmpl *x509.Certificate) (*NodeCert, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, fmt.Errorf("identity: node key: %w", err)
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca.Cert, key.Public(), ca.Key)
	if err != nil {
		return nil, fmt.Errorf("identity: sign %s: %w", peer.ID, err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		return nil, fmt.Errorf("identity: sign %s: %w", peer.ID, err)
	}
	keyPEM, err := encodeKey(key)
	if err != nil {
		return nil, err
	}
	certPEM := encodePEM("CERTIFICATE", der)
	for _, c := range append([]*x509.Certificate{ca.Cert}, ca.Chain...) {
		if !selfSigned(c) {
			certPEM = append(certPEM, encodePEM("CERTIFICATE", c.Raw)...)
		}
	}
	return &NodeCert{Peer: peer, Cert: cert, CertPEM: certPEM, KeyPEM: keyPEM}, nil
}

// selfSigned reports whether c is a root: a peer must already trust it, so
// it is not sent.
func selfSigned(c *x509.Certificate) bool {
	return bytes.Equal(c.RawIssuer, c.RawSubject) && c.CheckSignatureFrom(c) == nil
}

// newPeer validates an id and roles; roles are sorted and distinct.
func newPeer(id string, roles []string) (Peer, error) {
	var errs []error
	if !ValidID(id) {
		errs = append(errs, fmt.Errorf("identity: node id %q does not match %s", id, idRE))
	}
	if len(roles) == 0 {
		errs = append(errs, fmt.Errorf("identity: node %q needs at least one role (%s)", id, strings.Join(knownRoles, ", ")))
	}
	for _, r := range roles {
		if !ValidRole(r) {
			errs = append(errs, fmt.Errorf("identity: unknown role %q (known: %s)", r, strings.Join(knownRoles, ", ")))
		}
	}
	if len(errs) > 0 {
		return Peer{}, errors.Join(errs...)
	}
	roles = slices.Clone(roles)
	slices.Sort(roles)
	return Peer{ID: id, Roles: slices.Compact(roles)}, nil
}

// nodeTemplate is a node certificate without its validity.
func nodeTemplate(peer Peer, hosts []string) (*x509.Certificate, error) {
	tmpl := &x509.Certificate{
		SerialNumber: serial(),
		Subject:      pkix.Name{CommonName: peer.ID, Organization: []string{"Ringside"}},
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth, x509.ExtKeyUsageClientAuth},
		URIs:         []*url.URL{{Scheme: "urn", Opaque: strings.TrimPrefix(NodeURIPrefix, "urn:") + peer.ID}},
	}
	for _, r := range peer.Roles {
		tmpl.URIs = append(tmpl.URIs, &url.URL{Scheme: "urn", Opaque: strings.TrimPrefix(RoleURIPrefix, "urn:") + r})
	}
	for _, h := range hosts {
		h = strings.TrimSpace(h)
		if ip := net.ParseIP(h); ip != nil {
			tmpl.IPAddresses = append(tmpl.IPAddresses, ip)
			continue
		}
		if !validHostname(h) {
			return nil, fmt.Errorf("identity: host %q is neither an IP address nor a DNS name", h)
		}
		tmpl.DNSNames = append(tmpl.DNSNames, strings.ToLower(h))
	}
	return tmpl, nil
}

// validHostname accepts DNS names, with one leading wildcard label.
func validHostname(h string) bool {
	if h == "" || len(h) > maxHostnameBytes {
		return false
	}
	for _, label := range strings.Split(strings.TrimPrefix(h, "*."), ".") {
		if label == "" || len(label) > 63 || label[0] == '-' || label[len(label)-1] == '-' {
			return false
		}
		for _, c := range label {
			if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-') {
				return false
			}
		}
	}
	return true
}

// serial is a random 128-bit serial number.
func serial() *big.Int {
	b := make([]byte, 16)
	rand.Read(b) // never fails (crypto/rand)
	b[0] &= 0x7f // positive
	return new(big.Int).SetBytes(b)
}

// TLSCertificate is the certificate and key for a tls.Config.
func (n *NodeCert) TLSCertificate() (tls.Certificate, error) {
	c, err := tls.X509KeyPair(n.CertPEM, n.KeyPEM)
	if err != nil {
		return tls.Certificate{}, fmt.Errorf("identity: %w", err)
	}
	return c, nil
}

// WriteFiles writes dir/<id>.pem (0644) and dir/<id>-key.pem (0600),
// creating dir (0700) if needed and replacing earlier files atomically: the
// key first, so a Source polling them sees at worst a mismatch it reports
// and then the pair.
func (n *NodeCert) WriteFiles(dir string) (certPath, keyPath string, err error) {
	certPath, keyPath = filepath.Join(dir, n.Peer.ID+".pem"), filepath.Join(dir, n.Peer.ID+"-key.pem")
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return "", "", fmt.Errorf("identity: %w", err)
	}
	if err := writeFile(keyPath, n.KeyPEM, keyMode); err != nil {
		return "", "", err
	}
	if err := writeFile(certPath, n.CertPEM, certMode); err != nil {
		return "", "", err
	}
	return certPath, keyPath, nil
}
