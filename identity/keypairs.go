package identity

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"sync/atomic"
	"time"
)

// KeyPairFiles are one HTTPS certificate (PEM, leaf first, then the chain)
// and its private key.
type KeyPairFiles struct {
	Cert, Key string
}

// modernSuites are the TLS 1.2 suites a public listener offers: forward
// secret (ECDHE) and AEAD (AES-GCM, ChaCha20-Poly1305) only. TLS 1.3
// suites are not configurable and all qualify.
var modernSuites = []uint16{
	tls.TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256,
	tls.TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256,
	tls.TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384,
	tls.TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384,
	tls.TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256,
	tls.TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256,
}

// KeyPairs are the HTTPS certificates of a public (player-facing) listener,
// re-read from their files when they change. They are not node identities:
// any certificate a browser trusts will do.
type KeyPairs struct {
	files []KeyPairFiles
	cur   atomic.Pointer[pairSet]
	cfg   *tls.Config
	w     *watcher
}

// pairSet is one consistent load of every pair. It is never modified.
type pairSet struct {
	certs    []*tls.Certificate // Leaf set; certs[i] from files[i]
	notAfter time.Time          // the earliest expiry
	soonest  string             // the file of that certificate
}

// LoadKeyPairs reads the pairs (at least one; the first is the default
// certificate) and builds the listener's tls.Config (TLSConfig).
func LoadKeyPairs(pairs []KeyPairFiles, deps Deps) (*KeyPairs, error) {
	if len(pairs) == 0 {
		return nil, errors.New("identity: no HTTPS certificate")
	}
	deps = deps.withDefaults()
	k := &KeyPairs{files: append([]KeyPairFiles(nil), pairs...)}
	var paths []string
	for _, p := range pairs {
		paths = append(paths, p.Cert, p.Key)
	}
	k.w = &watcher{
		paths: paths,
		load:  k.load,
		notAfter: func() (time.Time, string) {
			s := k.cur.Load()
			return s.notAfter, s.soonest
		},
		warnWithin: DefaultConfig().ExpiryWarning,
		log:        deps.Logger,
		now:        deps.Now,
	}
	if err := k.w.reload(); err != nil {
		return nil, err
	}
	k.cfg = &tls.Config{
		MinVersion:     tls.VersionTLS12,
		CipherSuites:   modernSuites,
		GetCertificate: k.getCertificate,
		Time:           deps.Now,
	}
	return k, nil
}

// TLSConfig is the listener's config: TLS 1.2 and up with modern suites
// only, the certificate chosen by SNI at each handshake from the files as
// last loaded: the first pair the client's name and algorithms fit, else
// the first pair. Set NextProtos on a clone if the server needs ALPN.
func (k *KeyPairs) TLSConfig() *tls.Config { return k.cfg }

// SetTicketKeys sets the session ticket keys (the first encrypts, all
// decrypt), so that every edge sharing them resumes sessions any of them
// started. The caller rotates them; once set, crypto/tls no longer does.
func (k *KeyPairs) SetTicketKeys(keys [][32]byte) error {
	if len(keys) == 0 {
		return errors.New("identity: no session ticket key")
	}
	k.cfg.SetSessionTicketKeys(keys)
	return nil
}

// Reload re-reads every pair now; on error the previous set stays in use.
func (k *KeyPairs) Reload() error { return k.w.reload() }

// Run re-reads the pairs when their files change, checking every interval
// (0 is DefaultConfig's), logs failures, and warns once a day while a
// certificate expires within DefaultConfig's ExpiryWarning. It returns nil
// when ctx ends.
func (k *KeyPairs) Run(ctx context.Context, every time.Duration) error {
	if every <= 0 {
		every = DefaultConfig().ReloadEvery
	}
	return k.w.run(ctx, every)
}

// NotAfter is the earliest expiry among the pairs.
func (k *KeyPairs) NotAfter() time.Time { return k.cur.Load().notAfter }

func (k *KeyPairs) getCertificate(hello *tls.ClientHelloInfo) (*tls.Certificate, error) {
	set := k.cur.Load()
	for _, c := range set.certs {
		if hello.SupportsCertificate(c) == nil {
			return c, nil
		}
	}
	return set.certs[0], nil
}

// load reads every pair; one bad pair fails the whole reload.
func (k *KeyPairs) load() error {
	set := &pairSet{}
	for _, f := range k.files {
		c, err := tls.LoadX509KeyPair(f.Cert, f.Key)
		if err != nil {
			return fmt.Errorf("identity: %s and %s: %w", f.Cert, f.Key, err)
		}
		if set.soonest == "" || c.Leaf.NotAfter.Before(set.notAfter) {
			set.notAfter, set.soonest = c.Leaf.NotAfter, f.Cert
		}
		set.certs = append(set.certs, &c)
	}
	k.cur.Store(set)
	return nil
}
