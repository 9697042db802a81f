package main

import (
	"context"
	"crypto/tls"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/ringside-live/ringside/identity"
	"github.com/ringside-live/ringside/pkg/syncbuf"
)

func caRun(args ...string) (int, string, string) {
	var out, errb syncbuf.Buffer
	code := run(context.Background(), append([]string{"ca"}, args...), &out, &errb)
	return code, out.String(), errb.String()
}

func TestCACommand(t *testing.T) {
	dir := t.TempDir()
	pki, nodes := filepath.Join(dir, "pki"), filepath.Join(dir, "nodes")
	steps := []struct {
		name string
		args []string
		code int
		out  string // in stdout (code 0) or stderr
	}{
		{"init", []string{"init", "--dir", pki}, 0, "ca-key.pem (mode 0600"},
		{"init again", []string{"init", "--dir", pki}, 1, "--force replaces it"},
		{"issue", []string{"issue", "--dir", pki, "--node", "edge-1", "--roles", "edge, shield", "--hosts", "10.0.0.7,edge-1.example.net"}, 0,
			"node edge-1, roles edge,shield, hosts edge-1.example.net,10.0.0.7"},
		{"issue elsewhere", []string{"issue", "--dir", pki, "--node", "ctl-1", "--roles", "control", "--ttl", "720h", "--out", nodes}, 0,
			filepath.Join(nodes, "ctl-1-key.pem")},
		{"bad host", []string{"issue", "--dir", pki, "--node", "edge-2", "--roles", "edge", "--hosts", "a b"}, 1, `host "a b"`},
		{"no CA", []string{"issue", "--dir", nodes, "--node", "edge-2", "--roles", "edge"}, 1, "ca.pem: no such file"},
		{"init forced", []string{"init", "--dir", pki, "--force", "--ttl", "87600h"}, 0, "Ringside cluster CA"},
	}
	for _, st := range steps {
		code, out, errs := caRun(st.args...)
		text := out
		if st.code != 0 {
			text = errs
		}
		if code != st.code || !strings.Contains(text, st.out) {
			t.Fatalf("%s: ca %v = %d\nstdout %s\nstderr %s\nwant %d with %q", st.name, st.args, code, out, errs, st.code, st.out)
		}
	}
	for path, want := range map[string]os.FileMode{
		filepath.Join(pki, "ca.pem"): 0o644, filepath.Join(pki, "ca-key.pem"): 0o600,
		filepath.Join(pki, "edge-1.pem"): 0o644, filepath.Join(pki, "edge-1-key.pem"): 0o600,
		filepath.Join(nodes, "ctl-1.pem"): 0o644, filepath.Join(nodes, "ctl-1-key.pem"): 0o600,
	} {
		fi, err := os.Stat(path)
		if err != nil || fi.Mode().Perm() != want {
			t.Errorf("%s: %v, want mode %o", path, err, want)
		}
	}
	pair, err := tls.LoadX509KeyPair(filepath.Join(pki, "edge-1.pem"), filepath.Join(pki, "edge-1-key.pem"))
	if err != nil {
		t.Fatal(err)
	}
	p, err := identity.FromCertificate(pair.Leaf)
	if err != nil || p.ID != "edge-1" || !slices.Equal(p.Roles, []string{"edge", "shield"}) {
		t.Errorf("issued certificate names %v, %v", p, err)
	}
}

func TestCAUsageErrors(t *testing.T) {
	dir := t.TempDir()
	tests := []struct {
		args []string
		msg  string
	}{
		{nil, "usage: ringside ca"},
		{[]string{"--help"}, "usage: ringside ca"},
		{[]string{"renew"}, `unknown command "renew"`},
		{[]string{"init"}, "--dir DIR is required"},
		{[]string{"init", "--dir", dir, "--ttl", "-1h"}, "--ttl must be positive"},
		{[]string{"init", "--dir", dir, "extra"}, `unexpected argument "extra"`},
		{[]string{"init", "--nope"}, "flag provided but not defined: -nope"},
		{[]string{"init", "-h"}, "usage: ringside ca"},
		{[]string{"issue", "--dir", dir}, "--node \"\" is not a node id"},
		{[]string{"issue", "--dir", dir, "--node", "edge-1"}, "--roles is required"},
		{[]string{"issue", "--dir", dir, "--node", "Edge_1", "--roles", "edge,janitor"}, `unknown role "janitor"`},
		{[]string{"issue", "--node", "edge-1", "--roles", "edge"}, "--dir DIR is required"},
		{[]string{"issue", "--dir", dir, "--node", "edge-1", "--roles", "edge", "--ttl", "soon"}, `invalid value "soon"`},
	}
	for _, tt := range tests {
		code, _, errs := caRun(tt.args...)
		if code != 2 || !strings.Contains(errs, tt.msg) || !strings.Contains(errs, "usage: ringside ca") {
			t.Errorf("ca %v = %d, stderr %q; want 2 with %q and the usage", tt.args, code, errs, tt.msg)
		}
	}
	if entries, _ := os.ReadDir(dir); len(entries) != 0 {
		t.Errorf("a usage error wrote %d files", len(entries))
	}
}
