package node_test

import (
	"fmt"
	"io"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ringside-live/ringside/encoder/encodertest"
	"github.com/ringside-live/ringside/node"
	"github.com/ringside-live/ringside/node/nodetest"
)

var hintRE = regexp.MustCompile(`#EXT-X-PRELOAD-HINT:TYPE=PART,URI="ll-0/(\d+)\.(\d+)\.m4s"`)

// llGet fetches url with a client of its own connection pool.
func llGet(c *http.Client, url string) (int, string, error) {
	resp, err := c.Get(url)
	if err != nil {
		return 0, "", err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b), err
}

// listsPart reports whether an LL-HLS playlist lists part msn.part or,
// when segment msn is complete in it, the next segment's first part.
func listsPart(pl string, msn, part int) bool {
	if strings.Contains(pl, fmt.Sprintf(`URI="ll-0/%d.%d.m4s"`, msn, part)) && !strings.Contains(pl, fmt.Sprintf(`PRELOAD-HINT:TYPE=PART,URI="ll-0/%d.%d.m4s"`, msn, part)) {
		return true
	}
	return strings.Contains(pl, fmt.Sprintf(`#EXT-X-PART:DURATION=`)) && strings.Contains(pl, fmt.Sprintf(`URI="ll-0/%d.0.m4s"`, msn+1)) &&
		!strings.Contains(pl, fmt.Sprintf(`PRELOAD-HINT:TYPE=PART,URI="ll-0/%d.0.m4s"`, msn+1))
}

// TestLowLatencyMesh: a real ffmpeg low-latency push into an ingest node,
// 1,000 players parked on the next part across two edge/shield nodes:
// every one gets a playlist that lists the part, and the ingest node is
// asked once for that (playlist, msn, part); directives that would bust
// caches make no request of it; players parked when the shield owner of
// their key dies are answered through the next owner.
func TestLowLatencyMesh(t *testing.T) {
	const key = "ll-mesh-stream-key"
	var mu sync.Mutex
	atIngest := map[string]int{} // path?query -> requests the ingest node served to peers
	c := nodetest.Start(t, nodetest.Options{N: 3,
		Events: []node.EventConfig{{ID: "ll", StreamKey: key,
			LowLatency: node.LowLatencyConfig{Enabled: true, PartTarget: node.Duration(500 * time.Millisecond)}}},
		Configure: func(i int, cfg *node.Config) {
			if i == 0 {
				cfg.Node.Roles = []string{node.RoleIngest}
			}
		},
		Observe: func(i int, a node.Access) {
			if i == 0 {
				mu.Lock()
				atIngest[a.Path+"?"+a.Query]++
				mu.Unlock()
			}
		},
	})
	encodertest.Start(t, encodertest.LowLatencyConfig(c.URL(0)+"/ingest/ll", key))
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 1200}, Timeout: 30 * time.Second}
	pl := "/live/ll/ll-0.m3u8"
	var hint []string
	c.WaitFor("the edges serve the LL-HLS playlist", 40*time.Second, func() bool {
		st, body, err := llGet(client, c.URL(1)+pl)
		hint = hintRE.FindStringSubmatch(body)
		return err == nil && st == 200 && hint != nil && strings.Contains(body, "#EXTINF")
	})

	// 1,000 players parked on the part after the hinted one (so that all
	// of them are parked before it exists), half on each edge.
	msn, _ := strconv.Atoi(hint[1])
	part, _ := strconv.Atoi(hint[2])
	part++
	query := fmt.Sprintf("_HLS_msn=%d&_HLS_part=%d", msn, part)
	const players = 1000
	var wg sync.WaitGroup
	var failures sync.Map
	for i := range players {
		wg.Add(1)
		go func() {
			defer wg.Done()
			st, body, err := llGet(client, c.URL(1+i%2)+pl+"?"+query)
			switch {
			case err != nil:
				failures.Store(i, err.Error())
			case st != 200:
				failures.Store(i, fmt.Sprintf("%d %s", st, body))
			case !listsPart(body, msn, part) && !listsPart(body, msn+1, 0):
				failures.Store(i, "a playlist without the part:\n"+body)
			}
		}()
	}
	wg.Wait()
	failures.Range(func(k, v any) bool {
		t.Errorf("player %v: %v", k, v)
		return false
	})
	mu.Lock()
	asked := atIngest[pl+"?"+query]
	mu.Unlock()
	if asked > 1 {
		t.Fatalf("the ingest node was asked %d times for %s?%s by the shields, want at most 1", asked, pl, query)
	}
	// With the playlist pushed to the key's owners, the ingest is usually
	// not asked at all (logged: a loaded machine may let WaitPush pass).
	t.Logf("ingest requests for the key 1,000 players parked on: %d (0: answered by the push)", asked)

	// The hinted part, asked for on both edges before it exists, is
	// streamed to them; the ingest node is asked for it at most once
	// (parts are pushed to their owners as they are listed).
	_, body, err := llGet(client, c.URL(1)+pl)
	if err != nil {
		t.Fatal(err)
	}
	h := hintRE.FindStringSubmatch(body)
	partURL := fmt.Sprintf("/live/ll/ll-0/%s.%s.m4s", h[1], h[2])
	bodies := make(chan string, 20)
	for i := range 20 {
		go func() {
			st, b, err := llGet(client, c.URL(1+i%2)+partURL)
			if err != nil || st != 200 {
				b = fmt.Sprintf("error: %d %v", st, err)
			}
			bodies <- b
		}()
	}
	first := <-bodies
	for range 19 {
		if b := <-bodies; b != first || len(b) == 0 || strings.HasPrefix(b, "error") {
			t.Fatalf("the hinted part %s differs between players (%d and %d bytes): %.80s", partURL, len(first), len(b), b)
		}
	}
	mu.Lock()
	partAsks := atIngest[partURL+"?"]
	mu.Unlock()
	if partAsks > 1 {
		t.Fatalf("the ingest node served the hinted part %d times, want at most 1", partAsks)
	}

	// Cache busters: far ahead, garbage, directives on parts and segments
	// make no new request of the ingest node.
	mu.Lock()
	before := len(atIngest)
	mu.Unlock()
	for _, q := range []string{"_HLS_msn=999999", "_HLS_msn=abc", "_HLS_msn=1&_HLS_part=99999", "_HLS_skip=MAYBE"} {
		if st, _, err := llGet(client, c.URL(1)+pl+"?"+q); err != nil || st != 400 {
			t.Fatalf("%s: %d %v, want 400", q, st, err)
		}
	}
	for i := range 50 {
		if st, _, err := llGet(client, fmt.Sprintf("%s/live/ll/ll-0/%d.0.m4s?_HLS_msn=%d&_HLS_part=%d", c.URL(2), msn, i, i)); err != nil || st != 200 {
			t.Fatalf("a part with directives: %d %v", st, err)
		}
	}
	mu.Lock()
	after := len(atIngest)
	mu.Unlock()
	if after > before+1 { // the part itself, once
		t.Fatalf("cache-busting requests reached the ingest node: %d new keys", after-before)
	}

	// The shield owner of the next key dies while players are parked on
	// the other node: they are answered through the next owner.
	st, body, err := llGet(client, c.URL(1)+pl)
	if err != nil || st != 200 {
		t.Fatal(st, err)
	}
	h = hintRE.FindStringSubmatch(body)
	msn, _ = strconv.Atoi(h[1])
	msn++ // the next segment's first part: a second or so away
	query = fmt.Sprintf("_HLS_msn=%d&_HLS_part=0", msn)
	owner := c.Nodes[1].Owner(pl + "?" + query)
	victim, survivor := 2, 1
	if owner == "n1" {
		victim, survivor = 1, 2
	}
	results := make(chan string, 200)
	for range 200 {
		go func() {
			st, body, err := llGet(client, c.URL(survivor)+pl+"?"+query)
			switch {
			case err != nil:
				results <- err.Error()
			case st != 200:
				results <- fmt.Sprintf("%d %s", st, body)
			case !listsPart(body, msn, 0):
				results <- "a playlist without the part:\n" + body
			default:
				results <- ""
			}
		}()
	}
	c.Kill(victim)
	for range 200 {
		if r := <-results; r != "" {
			t.Fatalf("a player parked on n%d when the owner (%s) died: %s", survivor, owner, r)
		}
	}
}
