package identity

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"sync/atomic"
	"time"
)

// Files are where a node's identity lives: its certificate (PEM, the leaf
// first, then any intermediates), its private key, and the CA bundle it
// trusts (PEM, one or more CA certificates: old and new during a rotation).
type Files struct {
	Cert, Key, CA string
}

// Config configures a Source.
type Config struct {
	// NodeID is the node the certificate must name: a replacement for
	// another node is refused. Empty pins the id of the first certificate
	// loaded.
	NodeID string
	Files  Files
	// ReloadEvery is how often Run looks at the files' modification times.
	ReloadEvery time.Duration
	// ExpiryWarning: within this of the certificate's expiry, Run logs a
	// warning once a day.
	ExpiryWarning time.Duration
}

// DefaultConfig polls every 10 s and warns 14 days before expiry.
func DefaultConfig() Config {
	return Config{ReloadEvery: 10 * time.Second, ExpiryWarning: 14 * 24 * time.Hour}
}

// Validate reports every problem at once.
func (c Config) Validate() error {
	var errs []error
	bad := func(format string, args ...any) {
		errs = append(errs, fmt.Errorf("identity: config: "+format, args...))
	}
	if c.NodeID != "" && !ValidID(c.NodeID) {
		bad("node id %q does not match %s", c.NodeID, idRE)
	}
	for _, f := range []struct{ key, path string }{{"cert", c.Files.Cert}, {"key", c.Files.Key}, {"ca", c.Files.CA}} {
		if f.path == "" {
			bad("%s: a file is required", f.key)
		}
	}
	if c.ReloadEvery <= 0 {
		bad("reload_every must be positive")
	}
	if c.ExpiryWarning < 0 {
		bad("expiry_warning must not be negative")
	}
	return errors.Join(errs...)
}

// Deps are what a Source or KeyPairs uses but does not own.
type Deps struct {
	// Logger receives reload failures and expiry warnings; nil discards.
	// The package adds no identity attributes: the caller does.
	Logger *slog.Logger
	// Now is the clock for verification and expiry; nil is time.Now.
	Now func() time.Time
}

func (d Deps) withDefaults() Deps {
	if d.Logger == nil {
		d.Logger = slog.New(slog.DiscardHandler)
	}
	if d.Now == nil {
		d.Now = time.Now
	}
	return d
}

// Source holds a node's identity (certificate, key, CA bundle) read from
// files, and hands out tls.Configs that see the current files at every new
// handshake. A reload swaps the material atomically; connections already
// open keep theirs.
type Source struct {
	cfg Config
	now func() time.Time
	cur atomic.Pointer[material]
	w   *watcher
}

// material is one consistent load of the files. It is never modified.
type material struct {
	cert tls.Certificate // Leaf set
	peer Peer
	pool *x509.CertPool
}

// LoadSource validates cfg and reads the files: the key must match the
// certificate, the certificate must name a valid Peer (cfg.NodeID if set)
// and chain to the CA bundle for both server and client authentication.
func LoadSource(cfg Config, deps Deps) (*Source, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	deps = deps.withDefaults()
	s := &Source{cfg: cfg, now: deps.Now}
	s.w = &watcher{
		paths:      []string{cfg.Files.Cert, cfg.Files.Key, cfg.Files.CA},
		load:       s.load,
		notAfter:   func() (time.Time, string) { return s.NotAfter(), cfg.Files.Cert },
		warnWithin: cfg.ExpiryWarning,
		log:        deps.Logger,
		now:        deps.Now,
	}
	if err := s.w.reload(); err != nil {
		return nil, err
	}
	return s, nil
}

// Reload re-reads the files now (on SIGHUP). On error the previous material
// stays in use and the error says why.
func (s *Source) Reload() error { return s.w.reload() }

// Run re-reads the files whenever their modification time, size or inode
// changes, checking every cfg.ReloadEvery, logs failed reloads, and warns
// once a day while the certificate expires within cfg.ExpiryWarning. It
// returns nil when ctx ends.
func (s *Source) Run(ctx context.Context) error { return s.w.run(ctx, s.cfg.ReloadEvery) }

// NotAfter is when the current certificate expires: the node exports it as
// ringside_tls_cert_expiry_seconds.
func (s *Source) NotAfter() time.Time { return s.cur.Load().cert.Leaf.NotAfter }

// Peer is this node's own identity, as its current certificate says.
func (s *Source) Peer() Peer { return s.cur.Load().peer }

// load reads the files and swaps the material in; on error it keeps the
// old. The id pinned is cfg.NodeID or the first certificate's.
func (s *Source) load() error {
	want := s.cfg.NodeID
	if old := s.cur.Load(); old != nil && want == "" {
		want = old.peer.ID
	}
	m, err := readMaterial(s.cfg.Files, want, s.now())
	if err != nil {
		return err
	}
	s.cur.Store(m)
	return nil
}

// readMaterial reads and checks one consistent set of files.
func readMaterial(f Files, wantID string, now time.Time) (*material, error) {
	certPEM, err := os.ReadFile(f.Cert)
	if err != nil {
		return nil, fmt.Errorf("identity: %w", err)
	}
	keyPEM, err := os.ReadFile(f.Key)
	if err != nil {
		return nil, fmt.Errorf("identity: %w", err)
	}
	caPEM, err := os.ReadFile(f.CA)
	if err != nil {
		return nil, fmt.Errorf("identity: %w", err)
	}
	pair, err := tls.X509KeyPair(certPEM, keyPEM)
	if err != nil {
		return nil, fmt.Errorf("identity: %s and %s: %w", f.Cert, f.Key, err)
	}
	pool, err := caPool(f.CA, caPEM)
	if err != nil {
		return nil, err
	}
	peer, err := FromCertificate(pair.Leaf)
	if err != nil {
		return nil, fmt.Errorf("identity: %s: %w", f.Cert, err)
	}
	if wantID != "" && peer.ID != wantID {
		return nil, fmt.Errorf("identity: %s is for node %q, not %q", f.Cert, peer.ID, wantID)
	}
	chain := []*x509.Certificate{pair.Leaf}
	for _, der := range pair.Certificate[1:] {
		c, err := x509.ParseCertificate(der)
		if err != nil {
			return nil, fmt.Errorf("identity: %s: %w", f.Cert, err)
		}
		chain = append(chain, c)
	}
	for _, usage := range []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth, x509.ExtKeyUsageClientAuth} {
		if err := verifyChain(chain, pool, usage, now); err != nil {
			return nil, fmt.Errorf("identity: %s against %s: %w", f.Cert, f.CA, err)
		}
	}
	return &material{cert: pair, peer: peer, pool: pool}, nil
}

// caPool is the CA bundle: every certificate in it must be a CA.
func caPool(name string, data []byte) (*x509.CertPool, error) {
	certs, err := parseCerts(name, data)
	if err != nil {
		return nil, err
	}
	pool := x509.NewCertPool()
	for _, c := range certs {
		if !c.IsCA {
			return nil, fmt.Errorf("identity: %s: %q is not a CA certificate", name, c.Subject.CommonName)
		}
		pool.AddCert(c)
	}
	return pool, nil
}
