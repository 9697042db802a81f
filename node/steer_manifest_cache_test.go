package node

import (
	"fmt"
	"net"
	"strings"
	"testing"

	"github.com/valyala/fasthttp"

	"github.com/ringside-live/ringside/steering"
	"github.com/ringside-live/ringside/steering/manifest"
)

// TestSteeringManifestCache: a cached body differs from a fresh one only
// by its reload URI, which is JSON-escaped whatever the session says.
func TestSteeringManifestCache(t *testing.T) {
	var c manifestCache
	d := steering.Decision{Pathways: []steering.Pathway{{ID: "cdn-a", BaseURL: "http://a/"}, {ID: "mesh", BaseURL: "http://m/"}}}
	for _, reload := range []string{"/steer/fight?session=s1", `/steer/fight?session=x"y\z`, "/steer/fight?session=s2"} {
		got, err := c.body(false, d, 5e9, reload, nil)
		if err != nil {
			t.Fatal(err)
		}
		want, _ := manifest.HLSManifest(d, 5e9, reload, nil)
		if string(got) != string(want) {
			t.Fatalf("cached %s\nfresh  %s", got, want)
		}
	}
	if len(c.bodies) != 1 {
		t.Fatalf("%d bodies cached for one pathway order", len(c.bodies))
	}
}

// BenchmarkSteeringManifestCached is one /steer/{event} answer of a
// known session on a steer node: the engine's decision (sticky), the
// cached body, the reload URI spliced in. Figures in node/README.md.
func BenchmarkSteeringManifestCached(b *testing.B) {
	t := &testing.T{}
	n := steerNode(t, "http://127.0.0.1:1", func(c *Config) { c.Steering.MaxRPS = 0 }) // no shedding: the cost of an answer
	r := n.running()
	var ctx fasthttp.RequestCtx
	ctx.Init(&fasthttp.Request{}, &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1)}, nil)
	b.ReportAllocs()
	b.ResetTimer()
	for i := range b.N {
		ctx.Request.SetRequestURI(fmt.Sprintf("/steer/fight?session=s%d", i%1000))
		ctx.Response.Reset()
		r.serveSteeringManifest(&ctx, "fight")
		if ctx.Response.StatusCode() != 200 || !strings.Contains(string(ctx.Response.Body()), "PATHWAY-PRIORITY") {
			b.Fatalf("%d %s", ctx.Response.StatusCode(), ctx.Response.Body())
		}
	}
}
