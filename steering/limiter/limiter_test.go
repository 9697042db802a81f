package limiter

import (
	"fmt"
	"net/netip"
	"strings"
	"testing"
	"time"
)

var t0 = time.Date(2026, 3, 14, 20, 0, 0, 0, time.UTC)

func newLimiter(t testing.TB, mod func(*Config)) *Limiter {
	t.Helper()
	cfg := DefaultConfig()
	cfg.Rate, cfg.Burst = 10, 20
	if mod != nil {
		mod(&cfg)
	}
	l, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return l
}

func addr(s string) netip.Addr { return netip.MustParseAddr(s) }

// allowed counts how many of n requests at now are allowed.
func allowed(l *Limiter, a netip.Addr, n int, now time.Time) int {
	c := 0
	for range n {
		if l.Allow(a, now) {
			c++
		}
	}
	return c
}

// TestGreedyClientAlone: one client asking far beyond its budget gets its
// burst and then its rate, while 2000 other networks asking within theirs
// are never refused.
func TestGreedyClientAlone(t *testing.T) {
	l := newLimiter(t, nil)
	greedy := addr("198.51.100.7")
	now := t0
	greedyOK, othersRefused := 0, 0
	for tick := range 100 { // 10 s in steps of 100 ms
		now = t0.Add(time.Duration(tick) * 100 * time.Millisecond)
		greedyOK += allowed(l, greedy, 4400, now) // 44 000 requests a second
		for i := range 2000 {
			if i%100 == tick%100 { // each other network: one request a second... and a burst
				o := netip.AddrFrom4([4]byte{10, byte(i >> 8), byte(i), 1})
				othersRefused += 5 - allowed(l, o, 5, now)
			}
		}
	}
	// 20 at once, then 10 a second for 9.9 s.
	if greedyOK < 20+95 || greedyOK > 20+100 {
		t.Fatalf("greedy client got %d of 440000, want about 119", greedyOK)
	}
	if othersRefused != 0 {
		t.Fatalf("%d requests of other clients refused", othersRefused)
	}
}

func TestNetworks(t *testing.T) {
	l := newLimiter(t, func(c *Config) { c.Burst = 1 })
	tests := []struct {
		first, second string
		same          bool
	}{
		{"192.0.2.1", "192.0.2.1", true},
		{"192.0.2.1", "::ffff:192.0.2.1", true},
		{"192.0.2.1", "192.0.2.2", false},
		{"2001:db8:1:1::1", "2001:db8:1:ffff::2", true}, // one /48
		{"2001:db8:1::1", "2001:db8:2::1", false},
	}
	for i, tt := range tests {
		now := t0.Add(time.Duration(i) * time.Hour) // full buckets again
		if !l.Allow(addr(tt.first), now) {
			t.Fatalf("%s: first request refused", tt.first)
		}
		if got := !l.Allow(addr(tt.second), now); got != tt.same {
			t.Errorf("%s after %s: refused %v, want %v (same network)", tt.second, tt.first, got, tt.same)
		}
	}
	if !l.Allow(netip.Addr{}, t0) || l.Allow(netip.Addr{}, t0) {
		t.Error("an invalid address is not one network of its own")
	}
}

func TestRefill(t *testing.T) {
	l := newLimiter(t, nil)
	a := addr("192.0.2.1")
	if got := allowed(l, a, 100, t0); got != 20 {
		t.Fatalf("burst %d, want 20", got)
	}
	if got := allowed(l, a, 100, t0.Add(500*time.Millisecond)); got != 5 {
		t.Fatalf("after 0.5 s: %d, want 5", got)
	}
	if got := allowed(l, a, 100, t0.Add(-time.Hour)); got != 0 {
		t.Fatalf("a clock going back refilled %d", got)
	}
	if got := allowed(l, a, 100, t0.Add(time.Hour)); got != 20 {
		t.Fatalf("after an hour: %d, want the burst (20)", got)
	}
}

// TestBoundedTable: far more networks than entries pass through a small
// table; it does not grow, a network that keeps asking keeps its (empty)
// bucket while the others churn through the sets, and one that stopped
// asking is forgotten (and starts again with a full bucket).
func TestBoundedTable(t *testing.T) {
	l := newLimiter(t, func(c *Config) { c.Entries = 61 })
	if len(l.sets) != 16 {
		t.Fatalf("%d sets for 61 entries, want 16", len(l.sets))
	}
	greedy, quiet := addr("198.51.100.7"), addr("198.51.100.8")
	allowed(l, greedy, 100, t0)
	allowed(l, quiet, 100, t0)
	for i := range 100_000 {
		now := t0.Add(time.Duration(i) * time.Microsecond) // 0.1 s in all: 1 token for greedy
		l.Allow(netip.AddrFrom4([4]byte{10, byte(i >> 16), byte(i >> 8), byte(i)}), now)
		l.Allow(greedy, now) // never the least recently used of its set
	}
	end := t0.Add(100 * time.Millisecond)
	if got := allowed(l, greedy, 100, end); got > 1 {
		t.Fatalf("the greedy client got %d more: its bucket was evicted and refilled", got)
	}
	if got := allowed(l, quiet, 100, end); got != 20 {
		t.Fatalf("the quiet client got %d, want a new full bucket (20)", got)
	}
	if len(l.sets) != 16 {
		t.Fatal("the table grew")
	}
}

func TestConfigValidate(t *testing.T) {
	if err := DefaultConfig().Validate(); err != nil {
		t.Fatal(err)
	}
	err := Config{Rate: -1, Bits4: 33, Bits6: 0, Entries: 1}.Validate()
	for _, want := range []string{"Rate", "Burst", "Bits4", "Bits6", "Entries"} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("error %v does not mention %s", err, want)
		}
	}
	if _, err := New(Config{}); err == nil {
		t.Fatal("New accepted a zero config")
	}
}

func TestConcurrentUse(t *testing.T) {
	l := newLimiter(t, func(c *Config) { c.Rate, c.Burst = 1, 100 })
	done := make(chan int)
	for g := range 4 {
		go func() {
			c := 0
			for i := range 1000 {
				if l.Allow(netip.AddrFrom4([4]byte{10, 0, byte(g), byte(i % 2)}), t0) {
					c++
				}
			}
			done <- c
		}()
	}
	total := 0
	for range 4 {
		total += <-done
	}
	if total != 8*100 { // 8 networks, a burst of 100 each, no refill
		t.Fatalf("%d allowed, want 800", total)
	}
}

func BenchmarkAllow(b *testing.B) {
	l := newLimiter(b, nil)
	addrs := make([]netip.Addr, 4096)
	for i := range addrs {
		addrs[i] = addr(fmt.Sprintf("2001:db8:%x::1", i))
	}
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; b.Loop(); i++ {
		l.Allow(addrs[i%len(addrs)], t0.Add(time.Duration(i)))
	}
}

// FuzzAllow: any address, any time, never a panic; an address's network
// contains it.
func FuzzAllow(f *testing.F) {
	f.Add([]byte{192, 0, 2, 1}, int64(0))
	f.Add(addr("2001:db8::1").AsSlice(), int64(-1))
	f.Add([]byte{}, int64(1<<62))
	l := newLimiter(f, func(c *Config) { c.Entries = 16 })
	f.Fuzz(func(t *testing.T, ip []byte, nanos int64) {
		a, _ := netip.AddrFromSlice(ip)
		l.Allow(a, time.Unix(0, nanos))
		if a.IsValid() && !l.Network(a).Contains(a.Unmap()) {
			t.Fatalf("network %v does not contain %v", l.Network(a), a)
		}
	})
}
