package mesh

import (
	"fmt"
	"time"
)

// Profile returns the timings named by a node's mesh.profile: "lan" (the
// default: one datacenter or region), "wan" (members across regions:
// slower probes, more patience before declaring a member dead) or "test"
// (milliseconds, for in-process clusters on loopback).
func Profile(name string) (Config, error) {
	switch name {
	case "", "lan":
		return DefaultConfig(), nil
	case "wan":
		c := DefaultConfig()
		c.ProbeInterval, c.ProbeTimeout, c.SuspicionMult = 5*time.Second, 3*time.Second, 6
		c.GossipInterval, c.PushPullInterval = 500*time.Millisecond, 60*time.Second
		c.ReconnectInterval = 30 * time.Second
		return c, nil
	case "test":
		return TestConfig(), nil
	}
	return Config{}, fmt.Errorf("mesh: unknown profile %q: want lan, wan or test", name)
}
