package route

import (
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ringside-live/ringside/mesh"
	"github.com/ringside-live/ringside/pkg/object"
	"github.com/ringside-live/ringside/pkg/segment"
	"github.com/ringside-live/ringside/shield"
)

// sources is a fake Sources: every event is pull from origin, or push.
type sources struct {
	origin string
	push   bool
}

func (s sources) Source(event string) (string, bool) {
	if event != "ev" {
		return "", false
	}
	return s.origin, s.push
}

// peer is a fake node: what it answers, and what it was asked.
type peer struct {
	srv   *httptest.Server
	calls atomic.Int32
	last  atomic.Pointer[http.Header]
}

func newPeer(t *testing.T, h http.HandlerFunc) *peer {
	p := &peer{}
	p.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p.calls.Add(1)
		hd := r.Header.Clone()
		p.last.Store(&hd)
		h(w, r)
	}))
	t.Cleanup(p.srv.Close)
	return p
}

func (p *peer) addr() string { return strings.TrimPrefix(p.srv.URL, "http://") }

// serve answers body, honouring "Range: bytes=N-".
func serve(body string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if rg := r.Header.Get("Range"); rg != "" {
			from, _ := strconv.Atoi(strings.TrimSuffix(strings.TrimPrefix(rg, "bytes="), "-"))
			w.Header().Set("Content-Range", "bytes "+strconv.Itoa(from)+"-"+strconv.Itoa(len(body)-1)+"/"+strconv.Itoa(len(body)))
			w.WriteHeader(http.StatusPartialContent)
			io.WriteString(w, body[from:])
			return
		}
		io.WriteString(w, body)
	}
}

// cutAfter sends a Content-Length of the whole body, then n bytes, then
// drops the connection.
func cutAfter(body string, n int) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Length", strconv.Itoa(len(body)))
		io.WriteString(w, body[:n])
		w.(http.Flusher).Flush()
		conn, _, _ := w.(http.Hijacker).Hijack()
		conn.Close()
	}
}

func status(code int) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) { http.Error(w, "no", code) }
}

// deadAddr is an address nothing listens on.
func deadAddr(t *testing.T) string {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	return addr
}

const key = "/live/ev/0/seg1.ts"

func req() shield.Request {
	return shield.Request{Key: key, Event: "ev", Path: "0/seg1.ts", Kind: segment.KindSegment, Hops: "e0"}
}

// fetcher builds a fetcher on edge "me" whose shield owners for key, in
// rank order, answer with handlers (a nil handler: nothing listening).
func fetcher(t *testing.T, src sources, handlers ...http.HandlerFunc) (*Fetcher, []*peer, []string) {
	t.Helper()
	members := append(shields(len(handlers)), member("me", edgeOnly))
	order := ranked(NewTable("me", "", members), key)
	peers := make([]*peer, len(handlers))
	for i, h := range handlers {
		for j := range members {
			if members[j].ID != order[i] {
				continue
			}
			if h == nil {
				members[j].MeshAddr = deadAddr(t)
				continue
			}
			peers[i] = newPeer(t, h)
			members[j].MeshAddr = peers[i].addr()
		}
	}
	tab := NewTable("me", "", members)
	cfg := DefaultConfig()
	cfg.NodeID, cfg.PeerScheme = "me", "http"
	f, err := NewFetcher(cfg, Deps{Table: func() *Table { return tab }, Sources: src,
		Peer: NewClient(300 * time.Millisecond), Origin: NewClient(time.Second)})
	if err != nil {
		t.Fatal(err)
	}
	return f, peers, order
}

func read(t *testing.T, resp *shield.Response, err error) string {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("body: %v", err)
	}
	return string(b)
}

func TestFetchFailover(t *testing.T) {
	const body = "segment-bytes"
	hang := func(w http.ResponseWriter, r *http.Request) { <-r.Context().Done() }
	tests := []struct {
		name     string
		owners   []http.HandlerFunc
		source   string // who must answer: the owner's rank or "origin"
		wantCode int
	}{
		{"the owner answers", []http.HandlerFunc{serve(body), serve("x"), serve("x")}, "0", 200},
		{"refused: the next owner", []http.HandlerFunc{nil, serve(body), serve("x")}, "1", 200},
		{"header timeout: the next owner", []http.HandlerFunc{hang, serve(body), serve("x")}, "1", 200},
		{"5xx: the next owner", []http.HandlerFunc{status(502), status(500), serve(body)}, "2", 200},
		{"4xx is an answer, not a failure", []http.HandlerFunc{status(404), serve(body), serve(body)}, "0", 404},
		{"all owners down: the origin", []http.HandlerFunc{nil, status(503), nil}, "origin", 200},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			origin := newPeer(t, serve(body))
			f, peers, order := fetcher(t, sources{origin: origin.srv.URL + "/base"}, tc.owners...)
			resp, err := f.Fetch(context.Background(), req())
			if err != nil {
				t.Fatal(err)
			}
			if resp.Status != tc.wantCode {
				t.Fatalf("status %d, want %d", resp.Status, tc.wantCode)
			}
			want := "origin"
			if tc.source != "origin" {
				i, _ := strconv.Atoi(tc.source)
				want = order[i]
			}
			if resp.Source != want {
				t.Fatalf("answered by %s, want %s", resp.Source, want)
			}
			resp.Body.Close()
			for i, p := range peers {
				if p == nil {
					continue
				}
				if h := p.last.Load(); h != nil && (*h).Get(HopHeader) != "e0,me" {
					t.Fatalf("owner %d got hop %q", i, (*h).Get(HopHeader))
				}
			}
			if tc.source == "origin" && origin.calls.Load() != 1 {
				t.Fatalf("origin asked %d times", origin.calls.Load())
			}
			if tc.source != "origin" && origin.calls.Load() != 0 {
				t.Fatal("the origin was asked though an owner answered")
			}
		})
	}
}

func TestFetchAtMostMaxPeers(t *testing.T) {
	f, peers, _ := fetcher(t, sources{}, status(500), status(500), status(500), status(500))
	_, err := f.Fetch(context.Background(), req())
	if !errors.Is(err, ErrNoOrigin) {
		t.Fatalf("err %v, want ErrNoOrigin after the owners", err)
	}
	if peers[3].calls.Load() != 0 {
		t.Fatal("a fourth owner was asked: MaxPeers is 3")
	}
}

func TestResumeFromNextUpstream(t *testing.T) {
	full := strings.Repeat("0123456789", 1000)
	f, peers, order := fetcher(t, sources{}, cutAfter(full, 3000), serve(full))
	resp, err := f.Fetch(context.Background(), req())
	if got := read(t, resp, err); got != full {
		t.Fatalf("resumed body differs: %d bytes of %d", len(got), len(full))
	}
	if h := peers[1].last.Load(); h == nil || (*h).Get("Range") != "bytes=3000-" {
		t.Fatalf("the resume was not a Range request to %s", order[1])
	}
	if peers[0].calls.Load() != 1 || peers[1].calls.Load() != 1 {
		t.Fatalf("calls: owner %d, next %d; want one each", peers[0].calls.Load(), peers[1].calls.Load())
	}
}

func TestResumeWithoutRange(t *testing.T) {
	full := strings.Repeat("abcdefghij", 500)
	whole := func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, full) } // ignores Range
	f, _, _ := fetcher(t, sources{}, cutAfter(full, 1234), whole)
	resp, err := f.Fetch(context.Background(), req())
	if got := read(t, resp, err); got != full {
		t.Fatalf("body differs after a resume from an upstream ignoring Range: %d bytes", len(got))
	}
}

func TestResumeGivesUp(t *testing.T) {
	full := strings.Repeat("x", 5000)
	f, _, _ := fetcher(t, sources{}, cutAfter(full, 100), cutAfter(full, 100), cutAfter(full, 100))
	resp, err := f.Fetch(context.Background(), req())
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if _, err := io.ReadAll(resp.Body); err == nil {
		t.Fatal("a body broken beyond the resumes read to the end")
	}
}

func TestOriginRequest(t *testing.T) {
	origin := newPeer(t, serve("0123456789"))
	f, _, _ := fetcher(t, sources{origin: origin.srv.URL + "/base/"})
	r := req()
	r.Offset, r.Query = 2, "_HLS_msn=3"
	resp, err := f.Fetch(context.Background(), r)
	if got := read(t, resp, err); got != "23456789" || !resp.Partial {
		t.Fatalf("body %q partial %v", got, resp.Partial)
	}
	h := *origin.last.Load()
	if h.Get(HopHeader) != "e0,me" || h.Get("Range") != "bytes=2-" {
		t.Fatalf("origin got hop %q range %q", h.Get(HopHeader), h.Get("Range"))
	}
	r.Event = "other"
	if _, err := f.Fetch(context.Background(), r); !errors.Is(err, ErrNoOrigin) {
		t.Fatalf("unknown event: %v", err)
	}
}

func TestPushEventFromIngesters(t *testing.T) {
	ing := newPeer(t, serve("pushed"))
	members := []mesh.Member{member("me", edgeOnly), member("in", edgeOnly, ingests("ev"))}
	members[1].MeshAddr = ing.addr()
	tab := NewTable("me", "", members)
	cfg := DefaultConfig()
	cfg.NodeID, cfg.PeerScheme = "me", "http"
	f, _ := NewFetcher(cfg, Deps{Table: func() *Table { return tab }, Sources: sources{push: true},
		Peer: NewClient(time.Second), Origin: NewClient(time.Second)})
	resp, err := f.Fetch(context.Background(), req())
	if got := read(t, resp, err); got != "pushed" {
		t.Fatalf("got %q", got)
	}
	r := req()
	r.Hops = "in" // came from the ingest node: never back to it
	if _, err := f.Fetch(context.Background(), r); !errors.Is(err, ErrNoIngest) {
		t.Fatalf("err %v, want ErrNoIngest", err)
	}
}

func TestFill(t *testing.T) {
	var got atomic.Pointer[string]
	owner := newPeer(t, func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		s := r.Method + " " + r.URL.Path + " " + string(b) + " " + r.Header.Get(HopHeader)
		got.Store(&s)
		w.WriteHeader(http.StatusNoContent)
	})
	f, _, order := fetcher(t, sources{push: true}, serve("unused"))
	tab := f.deps.Table()
	for i := range tab.members {
		if tab.members[i].ID == order[0] {
			tab.addr[order[0]] = owner.addr()
		}
	}
	o := object.NewComplete(object.Meta{Status: 200}, []byte("seg"))
	if err := f.Fill(context.Background(), "ev", "0/seg1.ts", o); err != nil {
		t.Fatal(err)
	}
	want := "PUT " + FillPrefix + "ev/0/seg1.ts seg me"
	if p := got.Load(); p == nil || *p != want {
		t.Fatalf("fill sent %v, want %q", p, want)
	}
}
