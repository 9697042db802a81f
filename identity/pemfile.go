package identity

import (
	"crypto"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"os"
	"path/filepath"
)

// File modes: private keys are readable by their owner only.
const (
	certMode os.FileMode = 0o644
	keyMode  os.FileMode = 0o600
)

// writeFile replaces path atomically (a temporary file in the same
// directory, renamed over it), so a Source polling the file never reads half
// of it. The mode is set explicitly, whatever the umask.
func writeFile(path string, data []byte, mode os.FileMode) error {
	f, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".tmp-*")
	if err != nil {
		return fmt.Errorf("identity: %w", err)
	}
	tmp := f.Name()
	_, werr := f.Write(data)
	err = errors.Join(werr, f.Chmod(mode), f.Sync(), f.Close())
	if err == nil {
		err = os.Rename(tmp, path)
	}
	if err != nil {
		os.Remove(tmp)
		return fmt.Errorf("identity: write %s: %w", path, err)
	}
	return nil
}

// encodePEM is one PEM block.
func encodePEM(typ string, der []byte) []byte {
	return pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: der})
}

// encodeKey is a private key as PKCS#8 PEM ("PRIVATE KEY").
func encodeKey(key crypto.Signer) ([]byte, error) {
	der, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return nil, fmt.Errorf("identity: encode key: %w", err)
	}
	return encodePEM("PRIVATE KEY", der), nil
}

// parseCerts reads every CERTIFICATE block of a PEM file; other blocks are
// skipped, and a file without a certificate is an error.
func parseCerts(name string, data []byte) ([]*x509.Certificate, error) {
	var certs []*x509.Certificate
	for {
		var b *pem.Block
		b, data = pem.Decode(data)
		if b == nil {
			break
		}
		if b.Type != "CERTIFICATE" {
			continue
		}
		c, err := x509.ParseCertificate(b.Bytes)
		if err != nil {
			return nil, fmt.Errorf("identity: %s: %w", name, err)
		}
		certs = append(certs, c)
	}
	if len(certs) == 0 {
		return nil, fmt.Errorf("identity: %s: no PEM certificate", name)
	}
	return certs, nil
}

// parseKey reads the first private key of a PEM file: PKCS#8, SEC 1 (EC)
// or PKCS#1 (RSA), so an operator's own CA key works.
func parseKey(name string, data []byte) (crypto.Signer, error) {
	for {
		var b *pem.Block
		b, data = pem.Decode(data)
		if b == nil {
			return nil, fmt.Errorf("identity: %s: no PEM private key", name)
		}
		var key any
		var err error
		switch b.Type {
		case "PRIVATE KEY":
			key, err = x509.ParsePKCS8PrivateKey(b.Bytes)
		case "EC PRIVATE KEY":
			key, err = x509.ParseECPrivateKey(b.Bytes)
		case "RSA PRIVATE KEY":
			key, err = x509.ParsePKCS1PrivateKey(b.Bytes)
		default:
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("identity: %s: %w", name, err)
		}
		if k, ok := key.(crypto.Signer); ok {
			return k, nil
		}
		return nil, fmt.Errorf("identity: %s: unsupported key type %T", name, key)
	}
}

// publicKeyEqual reports whether a signer's public key is pub.
func publicKeyEqual(key crypto.Signer, pub crypto.PublicKey) bool {
	k, ok := key.Public().(interface{ Equal(crypto.PublicKey) bool })
	return ok && k.Equal(pub)
}
