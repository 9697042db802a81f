//go:build unix

package browser

import (
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"encoding/base64"
	"net"
	"net/http"
	"net/url"
	"os"
	"testing"
	"time"
)

// trustDemo trusts the demo's HTTPS listener precisely. It loads the CA
// the demo made (caFile), connects to tlsBase verifying the certificate
// against that CA alone, and returns a client that trusts that CA and
// nothing else, and the certificate's pin for Chromium: the base64 SHA-256
// of its SubjectPublicKeyInfo, for --ignore-certificate-errors-spki-list.
// Chromium then accepts that one key and still refuses any other
// certificate, which the https-untrusted control case shows.
func trustDemo(t *testing.T, caFile, tlsBase string) (*http.Client, string) {
	t.Helper()
	pem, err := os.ReadFile(caFile)
	if err != nil {
		t.Fatalf("the demo's CA: %v", err)
	}
	roots := x509.NewCertPool()
	if !roots.AppendCertsFromPEM(pem) {
		t.Fatalf("the demo's CA %s holds no PEM certificate", caFile)
	}
	u, err := url.Parse(tlsBase)
	if err != nil {
		t.Fatal(err)
	}
	host, _, err := net.SplitHostPort(u.Host)
	if err != nil {
		t.Fatal(err)
	}
	cfg := &tls.Config{RootCAs: roots, ServerName: host, MinVersion: tls.VersionTLS12}
	conn, err := tls.DialWithDialer(&net.Dialer{Timeout: 5 * time.Second}, "tcp", u.Host, cfg)
	if err != nil {
		t.Fatalf("the demo's HTTPS listener %s, verified against its CA %s: %v", u.Host, caFile, err)
	}
	leaf := conn.ConnectionState().PeerCertificates[0]
	conn.Close()
	sum := sha256.Sum256(leaf.RawSubjectPublicKeyInfo)
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.TLSClientConfig = cfg
	client := &http.Client{Timeout: 5 * time.Second, Transport: tr}
	t.Cleanup(client.CloseIdleConnections)
	return client, base64.StdEncoding.EncodeToString(sum[:])
}
