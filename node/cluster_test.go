package node_test

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ringside-live/ringside/node"
	"github.com/ringside-live/ringside/node/nodetest"
)

// gatedOrigin is a pull origin that counts requests per path, answers after
// a delay, sends the first half of the body, then waits for the test to
// open the gate before sending the rest. Range requests (resumes) are
// answered at once.
type gatedOrigin struct {
	*httptest.Server
	body  []byte
	ttfb  time.Duration
	gate  chan struct{}
	mu    sync.Mutex
	count map[string]int
	sent  atomic.Int32 // full responses finished
}

func newGatedOrigin(t *testing.T, body []byte, ttfb time.Duration) *gatedOrigin {
	o := &gatedOrigin{body: body, ttfb: ttfb, gate: make(chan struct{}), count: map[string]int{}}
	o.Server = httptest.NewServer(http.HandlerFunc(o.serve))
	t.Cleanup(o.Close)
	return o
}

func (o *gatedOrigin) serve(w http.ResponseWriter, r *http.Request) {
	o.mu.Lock()
	o.count[r.URL.Path]++
	o.mu.Unlock()
	if rg := r.Header.Get("Range"); rg != "" {
		from, _ := strconv.Atoi(strings.TrimSuffix(strings.TrimPrefix(rg, "bytes="), "-"))
		w.Header().Set("Content-Range", fmt.Sprintf("bytes %d-%d/%d", from, len(o.body)-1, len(o.body)))
		w.Header().Set("Content-Length", strconv.Itoa(len(o.body)-from))
		w.WriteHeader(http.StatusPartialContent)
		w.Write(o.body[from:])
		return
	}
	time.Sleep(o.ttfb)
	w.Header().Set("Content-Length", strconv.Itoa(len(o.body)))
	half := len(o.body) / 2
	for i := 0; i < 4; i++ { // the first half over ~4 x ttfb
		w.Write(o.body[i*half/4 : (i+1)*half/4])
		w.(http.Flusher).Flush()
		time.Sleep(o.ttfb)
	}
	select {
	case <-o.gate:
	case <-r.Context().Done():
		return
	}
	w.Write(o.body[half:])
	o.sent.Add(1)
}

func (o *gatedOrigin) requests(path string) int {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.count[path]
}

// crowd fetches url from many clients at once and checks every body.
type crowd struct {
	firstByte atomic.Int32
	ok, bad   atomic.Int32
	errs      sync.Map
	wg        sync.WaitGroup
}

func startCrowd(urls []string, clients int, want []byte) *crowd {
	c := &crowd{}
	tr := &http.Transport{MaxIdleConnsPerHost: clients, MaxConnsPerHost: 0}
	client := &http.Client{Transport: tr, Timeout: 60 * time.Second}
	for i := range clients {
		c.wg.Add(1)
		go func() {
			defer c.wg.Done()
			resp, err := client.Get(urls[i%len(urls)])
			if err != nil {
				c.fail(err.Error())
				return
			}
			defer resp.Body.Close()
			var got bytes.Buffer
			buf := make([]byte, 16<<10)
			first := true
			for {
				n, err := resp.Body.Read(buf)
				if n > 0 && first {
					first = false
					c.firstByte.Add(1)
				}
				got.Write(buf[:n])
				if err == io.EOF {
					break
				}
				if err != nil {
					c.fail(err.Error())
					return
				}
			}
			if resp.StatusCode != 200 || !bytes.Equal(got.Bytes(), want) {
				c.fail(fmt.Sprintf("status %d, %d bytes", resp.StatusCode, got.Len()))
				return
			}
			c.ok.Add(1)
		}()
	}
	return c
}

func (c *crowd) fail(msg string) {
	c.bad.Add(1)
	c.errs.Store(msg, true)
}

func (c *crowd) check(t *testing.T, clients int) {
	t.Helper()
	c.wg.Wait()
	if c.bad.Load() != 0 {
		var msgs []string
		c.errs.Range(func(k, _ any) bool { msgs = append(msgs, k.(string)); return len(msgs) < 5 })
		t.Fatalf("%d of %d clients failed: %v", c.bad.Load(), clients, msgs)
	}
	if int(c.ok.Load()) != clients {
		t.Fatalf("%d of %d clients succeeded", c.ok.Load(), clients)
	}
}

func pullCluster(t *testing.T, n int, originURL string, observe func(int, node.Access)) *nodetest.Cluster {
	return nodetest.Start(t, nodetest.Options{N: n, Observe: observe,
		Events: []node.EventConfig{{ID: "fight", PullURL: originURL}}})
}

// controlledPullCluster is pullCluster with node 0 a control voter: what
// acts on other nodes (purge and drain fan-out) is the control plane's.
func controlledPullCluster(t *testing.T, n int, originURL string, observe func(int, node.Access)) *nodetest.Cluster {
	return nodetest.Start(t, nodetest.Options{N: n, Observe: observe, Voters: 1,
		Events: []node.EventConfig{{ID: "fight", PullURL: originURL}}})
}

// TestStampedeOneOriginFetch: 1,000 concurrent players spread over three
// nodes ask for one cold segment; the origin sees one request, every
// player gets the whole body, and every player has its first bytes while
// the origin is still sending.
func TestStampedeOneOriginFetch(t *testing.T) {
	body := bytes.Repeat([]byte("0123456789abcdef"), 16<<10) // 256 KiB
	origin := newGatedOrigin(t, body, 50*time.Millisecond)
	c := pullCluster(t, 3, origin.URL, nil)
	var urls []string
	for i := range c.Nodes {
		urls = append(urls, c.URL(i)+"/live/fight/1080p/seg42.ts?token=player")
	}
	const clients = 1000
	cr := startCrowd(urls, clients, body)
	c.WaitFor("first bytes at every player while the origin holds the rest", 60*time.Second, func() bool {
		return cr.firstByte.Load() == clients
	})
	if origin.sent.Load() != 0 {
		t.Fatal("origin finished before the players had their first bytes")
	}
	close(origin.gate)
	cr.check(t, clients)
	if got := origin.requests("/1080p/seg42.ts"); got != 1 {
		t.Fatalf("origin saw %d requests for the segment, want 1", got)
	}
}

// TestKillOwnerMidStampede: the shield owner of a segment dies while its
// body is half sent; the edges resume from the next owner and every player
// still gets a correct body.
func TestKillOwnerMidStampede(t *testing.T) {
	body := bytes.Repeat([]byte("ringside"), 32<<10)
	origin := newGatedOrigin(t, body, 20*time.Millisecond)
	c := pullCluster(t, 3, origin.URL, nil)
	key := "/live/fight/720p/seg7.ts"
	owner := c.Nodes[0].Owner(key)
	var urls []string
	victim := -1
	for i, n := range c.Nodes {
		if n.ID() == owner {
			victim = i
			continue
		}
		urls = append(urls, c.URL(i)+key)
	}
	const clients = 200
	cr := startCrowd(urls, clients, body)
	c.WaitFor("players receiving through the owner", 30*time.Second, func() bool {
		return cr.firstByte.Load() == clients
	})
	c.Kill(victim)
	close(origin.gate)
	cr.check(t, clients)
	t.Logf("origin requests after the owner died: %d", origin.requests("/720p/seg7.ts"))
}

// TestDrainMovesKeys: draining a node moves its keys to others while the
// requests it is serving finish without error.
func TestDrainMovesKeys(t *testing.T) {
	body := bytes.Repeat([]byte("d"), 64<<10)
	origin := newGatedOrigin(t, body, 10*time.Millisecond)
	var served sync.Map // node index -> paths asked of it by peers
	c := controlledPullCluster(t, 3, origin.URL, func(i int, a node.Access) {
		if a.Hops != "" {
			served.Store(fmt.Sprint(i, a.Path), true)
		}
	})
	key := "/live/fight/hd/seg1.ts"
	owner := c.Nodes[0].Owner(key)
	ownerIdx, edge := -1, -1
	for i, n := range c.Nodes {
		if n.ID() == owner {
			ownerIdx = i
		} else if edge < 0 {
			edge = i
		}
	}
	cr := startCrowd([]string{c.URL(edge) + key}, 50, body)
	c.WaitFor("in-flight requests through the owner", 30*time.Second, func() bool { return cr.firstByte.Load() == 50 })
	admin(t, "POST", c.URL(edge)+"/admin/v1/nodes/"+owner+"/drain", "", 200)
	c.WaitFor("drain seen everywhere", 10*time.Second, func() bool {
		for _, n := range c.Nodes {
			if n.Owner(key) == owner {
				return false
			}
		}
		return true
	})
	close(origin.gate)
	cr.check(t, 50) // in-flight requests finished
	// New keys the drained node owned before now go elsewhere.
	moved := 0
	for i := range 40 {
		k := fmt.Sprintf("/live/fight/hd/new%d.ts", i)
		if resp := get(t, c.URL(edge)+k); resp != 200 {
			t.Fatalf("GET %s after drain: %d", k, resp)
		}
		if _, ok := served.Load(fmt.Sprint(ownerIdx, k)); ok {
			t.Fatalf("drained node %s was asked for %s", owner, k)
		}
		moved++
	}
	admin(t, "POST", c.URL(edge)+"/admin/v1/nodes/"+owner+"/undrain", "", 200)
	c.WaitFor("undrain seen everywhere", 10*time.Second, func() bool { return c.Nodes[edge].Owner(key) == owner })
}

func get(t *testing.T, url string) int {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return resp.StatusCode
}

func admin(t *testing.T, method, url, body string, want int) string {
	t.Helper()
	req, _ := http.NewRequestWithContext(context.Background(), method, url, strings.NewReader(body))
	req.Header.Set("Authorization", "Bearer "+nodetest.AdminToken)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, url, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != want {
		t.Fatalf("%s %s: %d %s, want %d", method, url, resp.StatusCode, b, want)
	}
	return string(b)
}
