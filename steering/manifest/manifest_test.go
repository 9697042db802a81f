package manifest

import (
	"encoding/json"
	"errors"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/ringside-live/ringside/steering"
)

func decision(ids ...string) steering.Decision {
	var d steering.Decision
	for _, id := range ids {
		d.Pathways = append(d.Pathways, steering.Pathway{ID: id, Hostname: id + ".example", BaseURL: "https://" + id + ".example/live/fight/"})
	}
	return d
}

func TestHLSManifest(t *testing.T) {
	tests := []struct {
		name   string
		d      steering.Decision
		ttl    time.Duration
		reload string
		clones []Clone
		want   string
		err    error
	}{
		{"priority and ttl", decision("mesh", "cdn-a"), 30 * time.Second, "", nil,
			`{"VERSION":1,"TTL":30,"PATHWAY-PRIORITY":["mesh","cdn-a"]}`, nil},
		{"reload uri keeps its ampersand", decision("cdn-a"), 1500 * time.Millisecond, "/steer/fight?session=s1&x=1", nil,
			`{"VERSION":1,"TTL":2,"RELOAD-URI":"/steer/fight?session=s1&x=1","PATHWAY-PRIORITY":["cdn-a"]}`, nil},
		{"ttl at least one second", decision("cdn-a"), 0, "", nil,
			`{"VERSION":1,"TTL":1,"PATHWAY-PRIORITY":["cdn-a"]}`, nil},
		{"clones", decision("cdn-c", "mesh"), time.Minute, "", []Clone{{BaseID: "mesh", ID: "cdn-c", Host: "fight.cdn-c.example"}},
			`{"VERSION":1,"TTL":60,"PATHWAY-PRIORITY":["cdn-c","mesh"],"PATHWAY-CLONES":[{"BASE-ID":"mesh","ID":"cdn-c","URI-REPLACEMENT":{"HOST":"fight.cdn-c.example"}}]}`, nil},
		{"clone params", decision("x"), time.Minute, "", []Clone{{BaseID: "x", ID: "y", Params: map[string]string{"token": "abc"}}},
			`{"VERSION":1,"TTL":60,"PATHWAY-PRIORITY":["x"],"PATHWAY-CLONES":[{"BASE-ID":"x","ID":"y","URI-REPLACEMENT":{"PARAMS":{"token":"abc"}}}]}`, nil},
		{"blocked decision", steering.Decision{Blocked: true}, time.Minute, "", nil, "", ErrNoPathways},
		{"bad id", decision("cdn a"), time.Minute, "", nil, "", ErrBadID},
		{"bad clone id", decision("x"), time.Minute, "", []Clone{{BaseID: "x", ID: "y z", Host: "h"}}, "", ErrBadID},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := HLSManifest(tt.d, tt.ttl, tt.reload, tt.clones)
			if !errors.Is(err, tt.err) || (err != nil && !strings.HasPrefix(err.Error(), "manifest: ")) {
				t.Fatalf("err %v, want %v", err, tt.err)
			}
			if string(got) != tt.want {
				t.Fatalf("got  %s\nwant %s", got, tt.want)
			}
			if err == nil && !json.Valid(got) {
				t.Fatal("invalid JSON")
			}
		})
	}
}

func TestDASHManifest(t *testing.T) {
	got, err := DASHManifest(decision("mesh", "cdn-a"), 45*time.Second, "https://steer.example/dash?s=1", nil)
	if err != nil {
		t.Fatal(err)
	}
	// PATHWAY-PRIORITY is what DASH-IF CTS 001 / ETSI TS 103 998 define
	// and dash.js and Shaka read; SERVICE-LOCATION-PRIORITY (the
	// community-review draft's name) is kept for clients built on it.
	want := `{"VERSION":1,"TTL":45,"RELOAD-URI":"https://steer.example/dash?s=1","PATHWAY-PRIORITY":["mesh","cdn-a"],"SERVICE-LOCATION-PRIORITY":["mesh","cdn-a"]}`
	if string(got) != want {
		t.Fatalf("got  %s\nwant %s", got, want)
	}
	var m struct {
		Priority []string `json:"PATHWAY-PRIORITY"`
	}
	if err := json.Unmarshal(got, &m); err != nil || len(m.Priority) != 2 || m.Priority[0] != "mesh" {
		t.Fatalf("a player reading PATHWAY-PRIORITY gets %v (%v)", m.Priority, err)
	}
	got, err = DASHManifest(decision("mesh"), time.Minute, "", []Clone{{BaseID: "mesh", ID: "cdn-c", Host: "c.example"}})
	if err != nil || !strings.Contains(string(got), `"PATHWAY-CLONES":[{"BASE-ID":"mesh","ID":"cdn-c","URI-REPLACEMENT":{"HOST":"c.example"}}]`) {
		t.Fatalf("clones: %s %v", got, err)
	}
	if _, err := DASHManifest(steering.Decision{}, time.Second, "", nil); !errors.Is(err, ErrNoPathways) {
		t.Fatalf("err %v", err)
	}
}

func TestClones(t *testing.T) {
	ps := []steering.Pathway{{ID: "mesh"}, {ID: "cdn-c", Hostname: "c.example", Clone: true}, {ID: "cdn-a"}}
	got := Clones(ps, "mesh")
	if len(got) != 1 || got[0].BaseID != "mesh" || got[0].ID != "cdn-c" || got[0].Host != "c.example" {
		t.Fatalf("clones %+v", got)
	}
}

func TestParseQuery(t *testing.T) {
	tests := []struct {
		name  string
		query string
		dash  bool
		want  Params
		err   bool
	}{
		{"quoted pathway", `_HLS_pathway="cdn-a"&_HLS_throughput=5140000`, false, Params{"cdn-a", 5140000}, false},
		{"bare pathway", `_HLS_pathway=cdn-a`, false, Params{Pathway: "cdn-a"}, false},
		{"fractional throughput", `_HLS_throughput=123.9`, false, Params{Throughput: 123}, false},
		{"nothing", `session=1`, false, Params{}, false},
		{"bad pathway", `_HLS_pathway="a b"`, false, Params{}, true},
		{"bad throughput", `_HLS_throughput=fast`, false, Params{}, true},
		{"negative throughput", `_HLS_throughput=-1`, false, Params{}, true},
		{"dash", `_DASH_pathway=mesh&_DASH_throughput=800000`, true, Params{"mesh", 800000}, false},
		// dash.js: a quoted list of the locations used since the last
		// reload, best throughput first, and their throughputs.
		{"dash.js list", `_DASH_pathway=%22cdn-a,mesh%22&_DASH_throughput=5140000,800000`, true, Params{"cdn-a", 5140000}, false},
		{"dash.js list without throughput", `_DASH_pathway=%22cdn-a,mesh%22&_DASH_throughput=`, true, Params{Pathway: "cdn-a"}, false},
		{"dash list with a bad id", `_DASH_pathway=%22cdn-a,a%20b%22`, true, Params{}, true},
		{"dash list with an empty id", `_DASH_pathway=%22cdn-a,,mesh%22`, true, Params{}, true},
		{"dash bad throughput in the list", `_DASH_throughput=1,x`, true, Params{}, true},
		{"hls takes no list", `_HLS_pathway=%22cdn-a,mesh%22`, false, Params{}, true},
		{"dash ignores hls keys", `_HLS_pathway=mesh`, true, Params{}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			q, err := url.ParseQuery(tt.query)
			if err != nil {
				t.Fatal(err)
			}
			parse := ParseHLSQuery
			if tt.dash {
				parse = ParseDASHQuery
			}
			got, err := parse(q)
			if (err != nil) != tt.err || got != tt.want {
				t.Fatalf("got %+v err %v", got, err)
			}
		})
	}
}
