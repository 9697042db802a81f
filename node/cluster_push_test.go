package node_test

import (
	"encoding/base64"
	"encoding/json"
	"io"
	"net/http"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ringside-live/ringside/encoder/encodertest"
	"github.com/ringside-live/ringside/node"
	"github.com/ringside-live/ringside/node/nodetest"
	"github.com/ringside-live/ringside/pkg/segment"
)

// TestPushFillWithFFmpeg: a real ffmpeg pushes into an ingest node; players
// on two edge/shield nodes follow the live edge. Push fill puts every new
// segment on its shield owner before the playlist lists it, so the ingest
// node is asked for each segment at most once (in practice never).
func TestPushFillWithFFmpeg(t *testing.T) {
	const key = "push-fill-stream-key"
	var mu sync.Mutex
	fromIngest := map[string]int{} // segment path -> requests the ingest node served to peers
	c := nodetest.Start(t, nodetest.Options{N: 3,
		Events: []node.EventConfig{{ID: "fight", StreamKey: key}},
		Configure: func(i int, cfg *node.Config) {
			if i == 0 {
				cfg.Node.Roles = []string{node.RoleIngest}
			}
		},
		Observe: func(i int, a node.Access) {
			if i == 0 && strings.HasSuffix(a.Path, ".ts") {
				mu.Lock()
				fromIngest[a.Path]++
				mu.Unlock()
			}
		},
	})
	ecfg := encodertest.Config(c.URL(0)+"/ingest/fight", key)
	ecfg.ListSize = 4
	encodertest.Start(t, ecfg)
	var wg sync.WaitGroup
	var errs sync.Map
	fetched := map[string]bool{}
	var fmu sync.Mutex
	deadline := time.Now().Add(40 * time.Second)
	for p := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			base := c.URL(1+p%2) + "/live/fight/" + []string{"0", "1"}[p/2] + "/"
			seen := map[string]bool{}
			for time.Now().Before(deadline) {
				pl, err := fetchPlaylist(base + "index.m3u8")
				if err != nil || pl == nil {
					time.Sleep(200 * time.Millisecond)
					continue
				}
				for _, s := range pl.Segments {
					if seen[s.URI] {
						continue
					}
					seen[s.URI] = true
					if st := status(base + s.URI); st != 200 {
						errs.Store(base+s.URI, st)
					}
					fmu.Lock()
					fetched[base+s.URI] = true
					fmu.Unlock()
				}
				if pl.MediaSequence >= 4 {
					return
				}
				time.Sleep(300 * time.Millisecond)
			}
			errs.Store(base, "live edge did not reach media sequence 4")
		}()
	}
	wg.Wait()
	errs.Range(func(k, v any) bool { t.Errorf("player: %v: %v", k, v); return true })
	mu.Lock()
	defer mu.Unlock()
	total := 0
	for path, n := range fromIngest {
		total += n
		if n > 1 {
			t.Errorf("ingest node served %s %d times, want at most 1", path, n)
		}
	}
	fmu.Lock()
	t.Logf("players fetched %d segments; the ingest node served %d segment requests", len(fetched), total)
	fmu.Unlock()
	m := body(t, c.URL(0)+"/metrics")
	if !regexp.MustCompile(`ringside_push_fills_total\{result="ok"\} [1-9]`).MatchString(m) {
		t.Errorf("no successful push fills in metrics")
	}
}

func fetchPlaylist(url string) (*segment.MediaPlaylist, error) {
	resp, err := http.Get(url)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil || resp.StatusCode != 200 {
		return nil, err
	}
	return segment.ParseMedia(b)
}

func status(url string) int {
	resp, err := http.Get(url)
	if err != nil {
		return -1
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return resp.StatusCode
}

func body(t *testing.T, url string) string {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return string(b)
}

// TestWrongGossipKeyCannotJoin: a node with another secret key never
// becomes a member, while a node with the right key that starts at the
// same moment and gossips with the same seed joins.
func TestWrongGossipKeyCannotJoin(t *testing.T) {
	keyA := base64.StdEncoding.EncodeToString([]byte("0123456789abcdef"))
	c := nodetest.Start(t, nodetest.Options{N: 2, Configure: func(i int, cfg *node.Config) { cfg.Mesh.SecretKey = keyA }})
	intruder := startJoiner(t, c, "intruder", base64.StdEncoding.EncodeToString([]byte("fedcba9876543210")))
	latecomer := startJoiner(t, c, "latecomer", keyA)
	c.WaitFor("the latecomer with the right key joins", 10*time.Second, func() bool {
		return len(c.Nodes[0].Members()) == 3 && len(c.Nodes[1].Members()) == 3 && len(latecomer.Members()) == 3
	})
	for i, m := range c.Nodes {
		for _, mem := range m.Members() {
			if mem.ID == "intruder" {
				t.Fatalf("node %d lists the intruder", i)
			}
		}
	}
	if got := len(intruder.Members()); got != 1 {
		t.Fatalf("intruder lists %d members, want only itself", got)
	}
}

// startJoiner runs one more node, with a certificate of c's CA, that
// joins through c's node 0 with gossip key.
func startJoiner(t *testing.T, c *nodetest.Cluster, id, key string) *node.Node {
	cfg := node.DefaultConfig()
	cfg.Node.ID, cfg.HTTP.Listen = id, "127.0.0.1:0"
	cfg.Mesh.Bind, cfg.Mesh.Listen, cfg.Mesh.Profile = "127.0.0.1:0", "127.0.0.1:0", "test"
	cfg.Mesh.Seeds, cfg.Mesh.SecretKey = []string{c.Nodes[0].GossipAddr()}, key
	cfg.Identity = c.Issue(id, cfg.Node.Roles...)
	return nodetest.Run(t, cfg, node.Deps{})
}

func TestAdminAPI(t *testing.T) {
	origin := newGatedOrigin(t, []byte("segment-bytes"), 0)
	close(origin.gate)
	c := controlledPullCluster(t, 3, origin.URL, nil)
	base := c.URL(0) + "/admin/v1/"
	// Auth.
	for _, tok := range []string{"", "wrong"} {
		req, _ := http.NewRequest("GET", base+"nodes", nil)
		if tok != "" {
			req.Header.Set("Authorization", "Bearer "+tok)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != 401 {
			t.Fatalf("token %q: %d, want 401", tok, resp.StatusCode)
		}
	}
	var nodes struct {
		Nodes []struct {
			ID    string   `json:"id"`
			Roles []string `json:"roles"`
			HTTP  string   `json:"http"`
			State string   `json:"state"`
			Drain bool     `json:"drain"`
		} `json:"nodes"`
	}
	if err := json.Unmarshal([]byte(admin(t, "GET", base+"nodes", "", 200)), &nodes); err != nil {
		t.Fatal(err)
	}
	if len(nodes.Nodes) != 3 || nodes.Nodes[0].State != "alive" || nodes.Nodes[0].HTTP == "" {
		t.Fatalf("nodes: %+v", nodes)
	}
	admin(t, "POST", base+"nodes/nope/drain", "", 404)
	admin(t, "POST", base+"nodes/n1/explode", "", 404)
	for _, bad := range []string{`{}`, `{"key":"/etc/passwd"}`, `{"prefix":"/live/x"}`, `{"event":"Bad Event"}`,
		`{"key":"/live/a/b.ts","event":"a"}`, `{"nope":1}`, `not json`} {
		if out := admin(t, "POST", base+"purge", bad, 400); !strings.Contains(out, "purge") {
			t.Fatalf("purge %s: %s", bad, out)
		}
	}
	// Fill every node's cache, purge the event everywhere, refetch.
	for i := range c.Nodes {
		if st := status(c.URL(i) + "/live/fight/0/a.ts"); st != 200 {
			t.Fatalf("fill node %d: %d", i, st)
		}
	}
	before := origin.requests("/0/a.ts")
	out := admin(t, "POST", base+"purge", `{"event":"fight"}`, 200)
	var pr struct {
		Purged int `json:"purged"`
	}
	json.Unmarshal([]byte(out), &pr)
	if pr.Purged < 1 {
		t.Fatalf("purge: %s", out)
	}
	for i := range c.Nodes {
		status(c.URL(i) + "/live/fight/0/a.ts")
	}
	if after := origin.requests("/0/a.ts"); after != before+1 {
		t.Fatalf("origin requests %d -> %d after purge, want one refetch", before, after)
	}
}

// TestPartitionAndHeal: a node cut off by a partition drops out of the
// others' view (its keys move), requests keep working on both sides, and
// the mesh is whole again once the partition heals.
func TestPartitionAndHeal(t *testing.T) {
	origin := newGatedOrigin(t, []byte("bytes"), 0)
	close(origin.gate)
	c := pullCluster(t, 3, origin.URL, nil)
	c.Partition([]int{0, 1}, []int{2})
	c.WaitFor("partition seen", 15*time.Second, func() bool {
		return len(c.Nodes[0].Members()) == 2 && len(c.Nodes[1].Members()) == 2 && len(c.Nodes[2].Members()) == 1
	})
	for i := range c.Nodes {
		if st := status(c.URL(i) + "/live/fight/0/p.ts"); st != 200 {
			t.Fatalf("node %d during partition: %d", i, st)
		}
	}
	c.Heal()
	c.WaitFor("healed", 20*time.Second, func() bool {
		for _, n := range c.Nodes {
			if len(n.Members()) != 3 {
				return false
			}
		}
		return true
	})
}

// TestRegionalTier: an edge in a region with a regional shield goes edge ->
// regional shield -> origin shield -> origin, and the hop header shows each
// tier.
func TestRegionalTier(t *testing.T) {
	origin := newGatedOrigin(t, []byte("tiered"), 0)
	close(origin.gate)
	var mu sync.Mutex
	hops := map[int][]string{}
	c := nodetest.Start(t, nodetest.Options{N: 3,
		Events: []node.EventConfig{{ID: "fight", PullURL: origin.URL}},
		Configure: func(i int, cfg *node.Config) {
			cfg.Node.Region = "eu"
			switch i {
			case 0:
				cfg.Node.Roles = []string{node.RoleEdge}
			case 1:
				cfg.Node.Roles, cfg.Node.Tier = []string{node.RoleShield}, node.TierRegional
			case 2:
				cfg.Node.Roles, cfg.Node.Tier = []string{node.RoleShield}, node.TierOrigin
			}
		},
		Observe: func(i int, a node.Access) {
			mu.Lock()
			hops[i] = append(hops[i], a.Hops)
			mu.Unlock()
		},
	})
	if st := status(c.URL(0) + "/live/fight/0/r.ts"); st != 200 {
		t.Fatalf("GET through the tiers: %d", st)
	}
	mu.Lock()
	defer mu.Unlock()
	if len(hops[1]) != 1 || hops[1][0] != "n0" || len(hops[2]) != 1 || hops[2][0] != "n0,n1" {
		t.Fatalf("hops seen: regional %v, origin shield %v; want [n0] and [n0,n1]", hops[1], hops[2])
	}
	if got := origin.requests("/0/r.ts"); got != 1 {
		t.Fatalf("origin requests %d", got)
	}
}

// TestPlayerHopHeaderIgnored: a player cannot make an edge skip the shield
// owner by claiming the request already went through it.
func TestPlayerHopHeaderIgnored(t *testing.T) {
	origin := newGatedOrigin(t, []byte("bytes"), 0)
	close(origin.gate)
	var mu sync.Mutex
	seen := map[int][]string{}
	c := pullCluster(t, 3, origin.URL, func(i int, a node.Access) {
		mu.Lock()
		seen[i] = append(seen[i], a.Hops)
		mu.Unlock()
	})
	key := "/live/fight/0/spoof.ts"
	owner := c.Nodes[0].Owner(key)
	edge := -1
	for i, n := range c.Nodes {
		if n.ID() != owner {
			edge = i
			break
		}
	}
	req, _ := http.NewRequest("GET", c.URL(edge)+key, nil)
	req.Header.Set("X-Ringside-Hop", "n0,n1,n2")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Fatalf("spoofed hops: %d", resp.StatusCode)
	}
	mu.Lock()
	defer mu.Unlock()
	for i, n := range c.Nodes {
		if n.ID() == owner && len(seen[i]) != 1 {
			t.Fatalf("the owner %s was skipped: it saw %v", owner, seen[i])
		}
	}
}
