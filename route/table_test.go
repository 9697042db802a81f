package route

import (
	"fmt"
	"slices"
	"testing"

	"github.com/ringside-live/ringside/mesh"
)

// member builds a mesh member for table tests.
func member(id string, opts ...func(*mesh.Member)) mesh.Member {
	m := mesh.Member{Meta: mesh.Meta{ID: id, Roles: []string{mesh.RoleShield, mesh.RoleEdge}, MeshAddr: id + ":7947"},
		State: mesh.StateAlive}
	for _, o := range opts {
		o(&m)
	}
	return m
}

func edgeOnly(m *mesh.Member) { m.Roles = []string{mesh.RoleEdge} }
func drained(m *mesh.Member)  { m.Drain = true }
func regional(region string) func(*mesh.Member) {
	return func(m *mesh.Member) { m.Tier, m.Region = mesh.TierRegional, region }
}
func ingests(ev string) func(*mesh.Member) {
	return func(m *mesh.Member) { m.Events = append(m.Events, ev) }
}

func shields(n int) []mesh.Member {
	var out []mesh.Member
	for i := range n {
		out = append(out, member(fmt.Sprintf("s%d", i)))
	}
	return out
}

// ranked is the origin tier's ranking of key, the reference the tests
// compare against.
func ranked(t *Table, key string) []string { return t.origin.Ranked(key, nil) }

func TestPeers(t *testing.T) {
	members := append(shields(5), member("e1", edgeOnly), member("d1", drained))
	const key = "/live/ev/0/seg1.ts"
	order := ranked(NewTable("e1", "", members), key)
	if len(order) != 5 || slices.Contains(order, "d1") || slices.Contains(order, "e1") {
		t.Fatalf("origin tier %v: want the 5 undrained shields", order)
	}
	tests := []struct {
		name string
		self string
		hops []string
		max  int
		want []string
	}{
		{"edge asks the owner first, then the next ranked", "e1", nil, 3, order[:3]},
		{"max bounds the list", "e1", nil, 1, order[:1]},
		{"the owner itself goes to the origin", order[0], nil, 3, nil},
		{"a node asks only nodes ranked above it", order[2], nil, 3, order[:2]},
		{"the last ranked asks everyone above it, up to max", order[4], nil, 3, order[:3]},
		{"hops are skipped", "e1", []string{order[0]}, 3, order[1:4]},
		{"a drained node asks the tier (it is not in it)", "d1", nil, 2, order[:2]},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := NewTable(tc.self, "", members).Peers(key, tc.hops, tc.max)
			if !slices.Equal(got, tc.want) {
				t.Fatalf("Peers = %v, want %v", got, tc.want)
			}
		})
	}
}

// TestNoLoops follows every request through the tables of the nodes it
// reaches, as failover would if each answered with an error: each hop only
// ever goes up the ranking, so no path visits a node twice and every path
// ends at the origin.
func TestNoLoops(t *testing.T) {
	members := append(shields(6), member("e1", edgeOnly), member("r1", regional("eu")), member("r2", regional("eu")))
	for k := range 200 {
		key := fmt.Sprintf("/live/ev/0/seg%d.ts", k)
		var walk func(self string, hops []string, depth int)
		walk = func(self string, hops []string, depth int) {
			if depth > len(members) {
				t.Fatalf("key %s: path %v did not end", key, hops)
			}
			region := ""
			if slices.Contains([]string{"r1", "r2", "e1"}, self) {
				region = "eu"
			}
			hops = append(slices.Clone(hops), self)
			for _, next := range NewTable(self, region, members).Peers(key, hops, 3) {
				if slices.Contains(hops, next) {
					t.Fatalf("key %s: %s asks %s again (path %v)", key, self, next, hops)
				}
				walk(next, hops, depth+1)
			}
		}
		walk("e1", nil, 0)
	}
}

func TestTiers(t *testing.T) {
	members := append(shields(3), member("r1", regional("eu")), member("r2", regional("eu")),
		member("us1", regional("us")), member("e1", edgeOnly), member("x1", regional("")))
	const key = "/live/ev/0/seg9.ts"
	tab := NewTable("e1", "eu", members)
	regionalOrder := tab.regional["eu"].Ranked(key, nil)
	originOrder := tab.origin.Ranked(key, nil)
	if !slices.Contains(originOrder, "x1") {
		t.Fatalf("a regional member without a region belongs to the origin tier: %v", originOrder)
	}
	t.Run("an edge climbs its regional tier, then the origin tier", func(t *testing.T) {
		got := tab.Peers(key, nil, 10)
		want := append(slices.Clone(regionalOrder), originOrder...)
		if !slices.Equal(got, want) {
			t.Fatalf("Peers = %v, want %v", got, want)
		}
		if tab.Owner(key) != regionalOrder[0] {
			t.Fatalf("Owner = %s, want the regional owner %s", tab.Owner(key), regionalOrder[0])
		}
	})
	t.Run("another region's shields are never asked", func(t *testing.T) {
		if got := tab.Peers(key, nil, 10); slices.Contains(got, "us1") {
			t.Fatalf("Peers = %v includes us1", got)
		}
	})
	t.Run("an origin shield never asks a regional one", func(t *testing.T) {
		self := originOrder[len(originOrder)-1]
		got := NewTable(self, "eu", members).Peers(key, nil, 10)
		if !slices.Equal(got, originOrder[:len(originOrder)-1]) {
			t.Fatalf("Peers = %v, want %v", got, originOrder[:len(originOrder)-1])
		}
	})
	t.Run("the regional owner climbs to the origin tier", func(t *testing.T) {
		got := NewTable(regionalOrder[0], "eu", members).Peers(key, nil, 10)
		if !slices.Equal(got, originOrder) {
			t.Fatalf("Peers = %v, want %v", got, originOrder)
		}
	})
	t.Run("owners are one per tier: fill targets", func(t *testing.T) {
		got := tab.Owners(key)
		want := []string{originOrder[0], regionalOrder[0], NewTable("e1", "us", members).Owner(key)}
		slices.Sort(got)
		slices.Sort(want)
		if !slices.Equal(got, want) {
			t.Fatalf("Owners = %v, want %v", got, want)
		}
	})
}

func TestIngestersAndAddr(t *testing.T) {
	members := []mesh.Member{member("a", ingests("fight")), member("b", ingests("fight"), ingests("other")), member("c")}
	tab := NewTable("c", "", members)
	got := tab.Ingesters("fight", "/live/fight/x.ts")
	if len(got) != 2 || !slices.Contains(got, "a") || !slices.Contains(got, "b") {
		t.Fatalf("Ingesters = %v", got)
	}
	if tab.Ingesters("none", "k") != nil {
		t.Fatal("an event nobody ingests has ingesters")
	}
	if tab.Addr("b") != "b:7947" || tab.Addr("zz") != "" {
		t.Fatalf("Addr: %q %q", tab.Addr("b"), tab.Addr("zz"))
	}
	if NewTable("c", "", nil).Owner("k") != "" {
		t.Fatal("an empty mesh has an owner")
	}
}

func BenchmarkPeers(b *testing.B) {
	tab := NewTable("e1", "", append(shields(20), member("e1", edgeOnly)))
	b.ReportAllocs()
	for b.Loop() {
		tab.Peers("/live/ev/0/seg1.ts", nil, 3)
	}
}
