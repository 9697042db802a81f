package mesh

import (
	"strings"
	"testing"
)

func TestConfigValidate(t *testing.T) {
	tests := []struct {
		name  string
		mod   func(*Config)
		wants []string // substrings of the error; none = valid
	}{
		{"default", func(*Config) {}, nil},
		{"advertise and seeds", func(c *Config) {
			c.AdvertiseAddr = "10.0.0.1:7946"
			c.Seeds = []string{"seed.example.net:7946", "10.0.0.2:7946"}
			c.SecretKey = make([]byte, 32)
		}, nil},
		{"bind host name", func(c *Config) { c.BindAddr = "localhost:7946" }, []string{"BindAddr", "must be an IP"}},
		{"bind no port", func(c *Config) { c.BindAddr = "127.0.0.1" }, []string{"BindAddr"}},
		{"bind bad port", func(c *Config) { c.BindAddr = "127.0.0.1:99999" }, []string{"bad port"}},
		{"advertise", func(c *Config) { c.AdvertiseAddr = "nope" }, []string{"AdvertiseAddr"}},
		{"seed", func(c *Config) { c.Seeds = []string{"a:1", "b"} }, []string{"Seeds[1]"}},
		{"seed port 0", func(c *Config) { c.Seeds = []string{"a:0"} }, []string{"Seeds[0]", "port 0"}},
		{"key", func(c *Config) { c.SecretKey = []byte("short") }, []string{"SecretKey: 5 bytes"}},
		{"probe timeout", func(c *Config) { c.ProbeTimeout = c.ProbeInterval }, []string{"shorter than ProbeInterval"}},
		{"everything at once", func(c *Config) {
			c.BindAddr = ""
			c.GossipInterval, c.ProbeInterval, c.ProbeTimeout = 0, 0, -1
			c.JoinRetry, c.BroadcastTimeout = 0, 0
			c.PushPullInterval, c.CoalescePeriod = -1, -1
			c.SuspicionMult = 0
		}, []string{"BindAddr", "GossipInterval", "ProbeInterval", "ProbeTimeout", "JoinRetry",
			"BroadcastTimeout", "PushPullInterval", "CoalescePeriod", "SuspicionMult"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			for _, base := range []Config{DefaultConfig(), TestConfig()} {
				c := base
				tt.mod(&c)
				err := c.Validate()
				if len(tt.wants) == 0 {
					if err != nil {
						t.Fatalf("unexpected error: %v", err)
					}
					continue
				}
				if err == nil {
					t.Fatal("no error")
				}
				for _, w := range tt.wants {
					if !strings.Contains(err.Error(), w) {
						t.Errorf("error %q lacks %q", err, w)
					}
				}
				if !strings.HasPrefix(err.Error(), "mesh: ") {
					t.Errorf("error %q lacks the mesh: prefix", err)
				}
			}
		})
	}
}
