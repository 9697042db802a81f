package node_test

import (
	"bytes"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ringside-live/ringside/identity"
	"github.com/ringside-live/ringside/node"
	"github.com/ringside-live/ringside/node/nodetest"
)

// TestCertificateRotationUnderLoad: while a crowd of HTTPS players fetches
// fresh segments (each a cache miss that climbs the mesh over mutual TLS),
// node n1's certificate and the players' certificate are replaced on disk
// and reloaded (as SIGHUP does). New connections get the new certificates,
// connections already open keep working, and no player sees an error.
func TestCertificateRotationUnderLoad(t *testing.T) {
	segment := bytes.Repeat([]byte("rotation"), 8<<10) // 64 KiB
	origin := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Write(segment)
	}))
	t.Cleanup(origin.Close)

	players, err := identity.NewCA(0)
	if err != nil {
		t.Fatal(err)
	}
	playerDir := t.TempDir()
	issuePlayers := func(ttl time.Duration) (string, string, *x509.Certificate) {
		pc, err := players.Issue("players", []string{identity.RoleEdge}, ttl, []string{"live.example.net"})
		if err != nil {
			t.Fatal(err)
		}
		cert, key, err := pc.WriteFiles(playerDir)
		if err != nil {
			t.Fatal(err)
		}
		return cert, key, pc.Cert
	}
	cert, key, oldPlayer := issuePlayers(24 * time.Hour)
	c := nodetest.Start(t, nodetest.Options{N: 3, Events: []node.EventConfig{{ID: "fight", PullURL: origin.URL}},
		Configure: func(i int, cfg *node.Config) {
			cfg.HTTP.TLSListen, cfg.HTTP.TLS = "127.0.0.1:0", []node.KeyPairConfig{{Cert: cert, Key: key}}
		}})
	pool := x509.NewCertPool()
	pool.AddCert(players.Cert)

	// The crowd: 40 players on n1 and n2, keep-alive, each asking for
	// segments no one asked for before; every 10th request on a new
	// connection. Bounded: stops after 20 s or when told.
	var ok, bad atomic.Int64
	var seq atomic.Int64
	var errMu sync.Mutex
	var errs []string
	stop := make(chan struct{})
	var wg sync.WaitGroup
	deadline := time.Now().Add(20 * time.Second)
	for p := range 40 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			base := "https://" + c.Nodes[1+p%2].HTTPSAddr() + "/live/fight/0/"
			var client *http.Client
			for i := 0; time.Now().Before(deadline); i++ {
				select {
				case <-stop:
					return
				default:
				}
				if i%10 == 0 {
					client = &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{
						TLSClientConfig: &tls.Config{RootCAs: pool, ServerName: "live.example.net"}}}
				}
				resp, err := client.Get(base + fmt.Sprintf("seg%d.ts", seq.Add(1)))
				if err == nil {
					var b []byte
					b, err = io.ReadAll(resp.Body)
					resp.Body.Close()
					if err == nil && (resp.StatusCode != 200 || !bytes.Equal(b, segment)) {
						err = fmt.Errorf("status %d, %d bytes", resp.StatusCode, len(b))
					}
				}
				if err != nil {
					bad.Add(1)
					errMu.Lock()
					errs = append(errs, err.Error())
					errMu.Unlock()
					continue
				}
				ok.Add(1)
			}
		}()
	}
	c.WaitFor("the crowd is playing", 10*time.Second, func() bool { return ok.Load() >= 200 })

	// Rotate: a new certificate for n1 (another expiry, so it can be told
	// apart) over the same files, and new player certificates.
	n1 := c.Nodes[1]
	probeSec := c.Issue("probe", node.RoleEdge) // also tells where the cluster's files are
	nc, err := c.CA().Issue(n1.ID(), []string{node.RoleEdge, node.RoleShield}, 30*24*time.Hour, nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := nc.WriteFiles(filepath.Dir(probeSec.Cert)); err != nil { // over n1's files
		t.Fatal(err)
	}
	newExpiry := nc.Cert.NotAfter.Unix()
	_, _, newPlayer := issuePlayers(48 * time.Hour)
	before := ok.Load()
	if err := n1.Reload(); err != nil {
		t.Fatalf("reload: %v", err)
	}
	c.WaitFor("n1 presents the new player certificate", 10*time.Second, func() bool {
		conn, err := tls.Dial("tcp", n1.HTTPSAddr(), &tls.Config{RootCAs: pool, ServerName: "live.example.net"})
		if err != nil {
			return false
		}
		defer conn.Close()
		return conn.ConnectionState().PeerCertificates[0].Equal(newPlayer)
	})
	c.WaitFor("n2 reloads on its own (file watch) too", 20*time.Second, func() bool {
		conn, err := tls.Dial("tcp", c.Nodes[2].HTTPSAddr(), &tls.Config{RootCAs: pool, ServerName: "live.example.net"})
		if err != nil {
			return false
		}
		defer conn.Close()
		return !conn.ConnectionState().PeerCertificates[0].Equal(oldPlayer)
	})
	probe, err := tls.LoadX509KeyPair(probeSec.Cert, probeSec.Key)
	if err != nil {
		t.Fatal(err)
	}
	c.WaitFor("n1 presents its new node certificate on the mesh listener", 10*time.Second, func() bool {
		conn, err := tls.Dial("tcp", meshAddr(t, c, n1.ID()), &tls.Config{InsecureSkipVerify: true, Certificates: []tls.Certificate{probe}})
		if err != nil {
			return false
		}
		defer conn.Close()
		return conn.ConnectionState().PeerCertificates[0].NotAfter.Unix() == newExpiry &&
			certExpiryMetric(t, c.URL(1)) == newExpiry
	})
	c.WaitFor("the crowd plays on after the rotation", 10*time.Second, func() bool { return ok.Load() >= before+400 })
	close(stop)
	wg.Wait()
	if bad.Load() != 0 {
		t.Fatalf("%d of %d requests failed during the rotation; first: %v", bad.Load(), bad.Load()+ok.Load(), errs[:min(3, len(errs))])
	}
	t.Logf("%d requests, 0 errors, across the rotation", ok.Load())
}

// certExpiryMetric is the node certificate expiry node base exports.
func certExpiryMetric(t *testing.T, base string) int64 {
	t.Helper()
	for _, line := range strings.Split(body(t, base+"/metrics"), "\n") {
		if v, ok := strings.CutPrefix(line, `ringside_tls_cert_expiry_seconds{cert="node"} `); ok {
			f, _ := strconv.ParseFloat(v, 64)
			return int64(f)
		}
	}
	return 0
}
