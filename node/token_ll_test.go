package node

import (
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/ringside-live/ringside/control"
)

// TestTokenLowLatencyPlaylist: a token-protected low-latency event's
// playlists, blocking or not, carry the viewer's token on every URI a
// player follows: segments, the map, parts, the preload hint and the
// rendition reports; a blocking request without a token is refused before
// it is held.
func TestTokenLowLatencyPlaylist(t *testing.T) {
	pl := "#EXTM3U\n#EXT-X-VERSION:9\n#EXT-X-TARGETDURATION:2\n#EXT-X-SERVER-CONTROL:CAN-BLOCK-RELOAD=YES,PART-HOLD-BACK=1.5\n" +
		"#EXT-X-PART-INF:PART-TARGET=0.5\n#EXT-X-MEDIA-SEQUENCE:10\n#EXT-X-MAP:URI=\"init.mp4\"\n" +
		"#EXT-X-PART:DURATION=0.5,URI=\"p11.0.m4s\",INDEPENDENT=YES\n#EXTINF:2.0,\ns10.m4s\n#EXTINF:2.0,\ns11.m4s\n" +
		"#EXT-X-PART:DURATION=0.5,URI=\"p12.0.m4s\",INDEPENDENT=YES\n#EXT-X-PRELOAD-HINT:TYPE=PART,URI=\"p12.1.m4s\"\n" +
		"#EXT-X-RENDITION-REPORT:URI=\"../1/index.m3u8\",LAST-MSN=12,LAST-PART=0\n"
	origin := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Write([]byte(pl))
	}))
	t.Cleanup(origin.Close)
	n := steerNode(t, origin.URL)
	apply(t, n, control.CmdRotateSigningKey, control.SigningKey{ID: "k1", Secret: []byte("0123456789abcdef0123456789abcdef")})
	apply(t, n, control.CmdPutRegion, control.Region{Name: "loopback", CIDRs: mustPrefixes("127.0.0.0/8")})
	apply(t, n, control.CmdPutEvent, control.Event{ID: "llt", State: control.StateLive, PullURL: origin.URL, RequireToken: true,
		LowLatency: control.LowLatency{Enabled: true, PartTarget: control.Duration(500 * time.Millisecond)}})
	base := "http://" + n.HTTPAddr()
	tok := playToken(t, base, "llt", "s1")
	if r := do(t, "GET", base+"/live/llt/0/index.m3u8?_HLS_msn=13&_HLS_part=0", "", nil); r.status != 403 {
		t.Fatalf("a blocking request without a token: %d", r.status)
	}
	for _, q := range []string{"", "&_HLS_msn=12&_HLS_part=0", "&_HLS_msn=12&_HLS_part=1"} {
		r := do(t, "GET", base+"/live/llt/0/index.m3u8?token="+tok+q, "", nil)
		if r.status != 200 {
			t.Fatalf("%q: %d %s", q, r.status, r.body)
		}
		uris := regexp.MustCompile(`URI="([^"]+)"|\n([^#\n][^\n]*)`).FindAllStringSubmatch(r.body, -1)
		if len(uris) != 7 {
			t.Fatalf("%q: %d URIs in\n%s", q, len(uris), r.body)
		}
		for _, u := range uris {
			if v := u[1] + u[2]; !strings.Contains(v, "token=") {
				t.Fatalf("%q: %s carries no token:\n%s", q, v, r.body)
			}
		}
		if cc := r.header.Get("Cache-Control"); cc != cachePerViewer {
			t.Fatalf("%q: Cache-Control %q", q, cc)
		}
	}
}
