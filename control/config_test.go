package control

import (
	"strings"
	"testing"
)

func TestConfigValidate(t *testing.T) {
	good := DefaultConfig()
	good.NodeID, good.DataDir = "n1", "/var/lib/ringside/raft"
	if err := good.Validate(); err != nil {
		t.Fatalf("good config: %v", err)
	}
	for _, tc := range []struct {
		name string
		edit func(*Config)
		want []string
	}{
		{"empty", func(c *Config) { *c = Config{} }, []string{"NodeID", "DataDir is required", "RaftAddr", "Profile", "SnapshotThreshold", "SnapshotInterval"}},
		{"unspecified bind", func(c *Config) { c.RaftAddr = "0.0.0.0:7947" }, []string{"without Advertise"}},
		{"advertise", func(c *Config) { c.RaftAddr, c.Advertise = "0.0.0.0:7947", "10.0.0.1:0" }, []string{"Advertise"}},
		{"advertise name", func(c *Config) { c.Advertise = "raft.example:7947" }, []string{"Advertise"}},
		{"bootstrap", func(c *Config) {
			c.Bootstrap = []Peer{{ID: "n2", Addr: "10.0.0.2"}, {ID: "n2", Addr: "10.0.0.3:7947"}, {ID: "n3"}}
		}, []string{"Bootstrap[0].Addr", "Bootstrap[1].ID", "Bootstrap[2].Addr", "does not list this node"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := good
			tc.edit(&c)
			err := c.Validate()
			if err == nil {
				t.Fatal("no error")
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error lacks %q:\n%v", w, err)
				}
			}
		})
	}
	ok := good
	ok.RaftAddr, ok.Advertise = "0.0.0.0:7947", "10.0.0.1:7947"
	ok.Bootstrap = []Peer{{ID: "n1"}, {ID: "n2", Addr: "10.0.0.2:7947"}}
	if err := ok.Validate(); err != nil {
		t.Fatalf("advertise + bootstrap: %v", err)
	}
}
