package node

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestParseConfig(t *testing.T) {
	t.Setenv("RS_TEST_KEY", "key-from-environment")
	cfg, err := ParseConfig([]byte(`
node: {id: edge-1, roles: [edge, shield, ingest], region: eu, tier: regional}
http: {listen: "127.0.0.1:9000", stream_timeout: 45s}
ingest: {max_body_bytes: 32MiB, live_bytes: 1GiB}
cache: {max_bytes: 1073741824, negative_ttl: 250ms}
mesh: {bind: "127.0.0.1:7946", listen: "127.0.0.1:7947", seeds: ["127.0.0.1:7956"], secret_key: "MDEyMzQ1Njc4OWFiY2RlZg=="}
identity: {cert: /etc/ringside/node.crt, key: /etc/ringside/node.key, ca: /etc/ringside/ca.crt}
events:
  - {id: fight, stream_key_env: RS_TEST_KEY}
  - {id: partner, pull_url: "https://packager.example.net/out"}
`))
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Ingest.MaxBodyBytes != 32<<20 || cfg.Cache.MaxBytes != 1<<30 || time.Duration(cfg.HTTP.StreamTimeout) != 45*time.Second {
		t.Fatalf("sizes/durations: %+v %+v", cfg.Ingest, cfg.HTTP)
	}
	if cfg.Events[0].StreamKey != "key-from-environment" {
		t.Fatalf("stream_key_env not read: %q", cfg.Events[0].StreamKey)
	}
	if cfg.Ingest.OrphanTTL == 0 || cfg.Log.Level != "info" {
		t.Fatal("defaults not kept under a partial section")
	}
}

func TestConfigErrors(t *testing.T) {
	t.Setenv("RS_TEST_UNSET_GOSSIP_KEY", "")
	tests := []struct {
		name, yaml string
		want       []string
	}{
		{"unknown key", "node: {id: a, rolez: [edge]}", []string{"rolez"}},
		{"unknown section", "caches: {}", []string{"caches"}},
		{"bad size", "cache: {max_bytes: lots}", []string{`"lots" is not a size`}},
		{"bad duration", "http: {stream_timeout: soon}", []string{`"soon" is not a duration`}},
		{"all problems at once", `
node: {id: a, roles: [edge, wizard]}
http: {listen: nowhere}
events:
  - {id: "Bad Id", stream_key: short}
  - {id: ok, stream_key: long-enough-key, pull_url: "http://x"}
  - {id: ok2}
  - {id: ok3, pull_url: "ftp://x"}
log: {level: loud}`, []string{"unknown role \"wizard\"", "http.listen", "Bad Id", "shorter than 16",
			"not both", "needs stream_key", "not an http(s) URL", "log.level"}},
		{"mesh", "mesh: {bind: '127.0.0.1:7946', secret_key: 'abc', profile: fast}", []string{"secret_key", "mesh.listen", "profile",
			"identity: required with mesh.bind"}},
		{"the cluster token is gone", "mesh: {bind: '127.0.0.1:7946', cluster_token: 0123456789abcdef0}",
			[]string{"cluster_token is no longer used: nodes authenticate each other with their certificates"}},
		{"seeds without bind", "mesh: {seeds: ['1.2.3.4:7946']}", []string{"seeds need mesh.bind"}},
		{"bind without a gossip key", "mesh: {bind: '127.0.0.1:7946'}",
			[]string{"node: config: mesh.secret_key: required with mesh.bind: gossip is always encrypted",
				"`head -c 32 /dev/urandom | base64`"}},
		{"bind with an empty key variable", "mesh: {bind: '127.0.0.1:7946', secret_key_env: RS_TEST_UNSET_GOSSIP_KEY}",
			[]string{"mesh.secret_key: required with mesh.bind", "mesh.secret_key_env names RS_TEST_UNSET_GOSSIP_KEY, which is empty or unset"}},
		{"regional without region", "node: {id: a, roles: [shield], tier: regional}", []string{"needs node.region"}},
		{"ingest limits", "ingest: {max_body_bytes: 10, live_bytes: 5}", []string{"ingest.max_playlist_bytes", "ingest.live_bytes"}},
		{"cache limits speak YAML keys", "cache: {max_bytes: 0, fetch_timeout: 0s}",
			[]string{"cache.max_bytes: must be positive", "cache.fetch_timeout: must be positive"}},
		{"control without data dir", "node: {id: a, roles: [control]}", []string{"data_dir is required", "raft_bind"}},
		{"raft without the role", "control: {raft_bind: '127.0.0.1:7000'}", []string{"need the control role"}},
		{"steering", "steering: {dns_listen: nowhere, zone: example, ttl: 10ms, down_after: 0, canary: healthz}",
			[]string{"dns_listen needs the steer role", "zone", "at least 1s", "down_after", "canary"}},
		{"admin listen", "admin: {listen: nope}", []string{"admin.listen"}},
		{"a reachable voter needs an identity", "node: {id: a, roles: [control]}\ncontrol: {data_dir: /tmp/x, raft_bind: '10.0.0.5:7000'}",
			[]string{"identity: required with the control role"}},
		{"identity files come together", "identity: {cert: a.pem}", []string{"identity: cert, key and ca are all required"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := ParseConfig([]byte(tt.yaml))
			if err == nil {
				t.Fatal("accepted")
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error lacks %q:\n%v", w, err)
				}
			}
		})
	}
}

func TestLoadConfigFile(t *testing.T) {
	p := filepath.Join(t.TempDir(), "node.yaml")
	os.WriteFile(p, []byte("node: {id: x}\n"), 0o600)
	if cfg, err := LoadConfig(p); err != nil || cfg.Node.ID != "x" {
		t.Fatalf("load: %v", err)
	}
	if _, err := LoadConfig(p + ".missing"); err == nil || !strings.Contains(err.Error(), "no such file") {
		t.Fatalf("missing file: %v", err)
	}
	if cfg, err := ParseConfig(nil); err != nil || cfg.Node.ID == "" {
		t.Fatalf("empty file should give the defaults: %v", err)
	}
}
