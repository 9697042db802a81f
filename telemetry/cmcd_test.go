package telemetry

import (
	"errors"
	"net/url"
	"strings"
	"testing"
)

// A query as hls.js sends it (CMCD v1, URL-encoded).
const hlsjsQuery = "token=abc&CMCD=bl%3D21300%2Cbr%3D3200%2Cbs%2Ccid%3D%22faec5fc2-ac30-11ea-bb37-0242ac130002%22%2Cd%3D4004%2Cdl%3D18500%2Cmtp%3D48100%2Cnor%3D%22..%252F300kbps%252Ftrack.m4v%22%2Cnrr%3D%2212323-48763%22%2Cot%3Dv%2Cpr%3D1.08%2Crtp%3D12000%2Csf%3Dd%2Csid%3D%226e2fb550-c457-11e9-bb97-0800200c9a66%22%2Cst%3Dv%2Csu%2Ctb%3D6000"

func TestParseQuery(t *testing.T) {
	var p Parser
	if err := p.ParseQuery([]byte(hlsjsQuery)); err != nil {
		t.Fatal(err)
	}
	c := p.CMCD
	checks := []struct {
		name      string
		got, want any
	}{
		{"bl", c.BL, int64(21300)}, {"br", c.BR, int64(3200)}, {"bs", c.BS, true},
		{"cid", string(c.CID), "faec5fc2-ac30-11ea-bb37-0242ac130002"},
		{"d", c.D, int64(4004)}, {"dl", c.DL, int64(18500)}, {"mtp", c.MTP, int64(48100)},
		{"nor", string(c.NOR), "..%2F300kbps%2Ftrack.m4v"}, {"nrr", string(c.NRR), "12323-48763"},
		{"ot", c.OT, OTVideo}, {"pr", c.PR, int64(1080)}, {"rtp", c.RTP, int64(12000)},
		{"sf", c.SF, byte('d')}, {"sid", string(c.SID), "6e2fb550-c457-11e9-bb97-0800200c9a66"},
		{"st", c.ST, byte('v')}, {"su", c.SU, true}, {"tb", c.TB, int64(6000)},
		{"keys", c.Keys, 17}, {"unknown", c.Unknown, 0},
	}
	for _, ch := range checks {
		if ch.got != ch.want {
			t.Errorf("%s = %v, want %v", ch.name, ch.got, ch.want)
		}
	}
	if c.Has&(HasBL|HasSID|HasSU|HasOT) != HasBL|HasSID|HasSU|HasOT || c.Has&HasV != 0 {
		t.Errorf("Has = %b", c.Has)
	}
}

func TestParseHeaders(t *testing.T) {
	var p Parser
	err := p.ParseHeaders(
		[]byte(`bl=21300, dl=18500, mtp=48100, nor="..%2F300kbps%2Ftrack.m4v", su`),
		[]byte(`br=3200,d=4004,ot=v,tb=6000`),
		[]byte(`bs,rtp=12000`),
		[]byte(`cid="faec5fc2",pr=1.08,sf=d,sid="6e2fb550",st=l,v=2,sta=r,ltc=3200,msd=1250,bsd=800,com.example-key=12`),
	)
	if err != nil {
		t.Fatal(err)
	}
	c := p.CMCD
	if c.BL != 21300 || !c.SU || c.BR != 3200 || c.OT != OTVideo || !c.BS || c.RTP != 12000 ||
		string(c.SID) != "6e2fb550" || c.ST != 'l' || c.V != 2 || c.STA != 'r' || c.LTC != 3200 ||
		c.MSD != 1250 || c.BSD != 800 || c.Unknown != 1 {
		t.Fatalf("parsed %+v", c)
	}
}

func TestParseValues(t *testing.T) {
	cases := []struct {
		name, in string
		check    func(c *CMCD) bool
		err      error
	}{
		{"empty", ``, func(c *CMCD) bool { return c.Keys == 0 }, nil},
		{"spaces", ` br=1 , bl=2 `, func(c *CMCD) bool { return c.BR == 1 && c.BL == 2 }, nil},
		{"sfv booleans", `su=?1,bs=?0`, func(c *CMCD) bool { return c.SU && !c.BS && c.Has&HasBS != 0 }, nil},
		{"escaped quote", `sid="a\"b\\c"`, func(c *CMCD) bool { return string(c.SID) == `a"b\c` }, nil},
		{"comma in string", `sid="a,b",br=5`, func(c *CMCD) bool { return string(c.SID) == "a,b" && c.BR == 5 }, nil},
		{"v2 inner list", `br=(3000;v 128;a),bl=(21300 9000),nor=("a.m4s" "b.m4s")`, func(c *CMCD) bool {
			return c.BR == 3000 && c.BL == 21300 && string(c.NOR) == "a.m4s"
		}, nil},
		{"empty inner list", `br=()`, func(c *CMCD) bool { return c.Has&HasBR == 0 }, nil},
		{"parameters", `br=3000;v,sid="x";p="q"`, func(c *CMCD) bool { return c.BR == 3000 && string(c.SID) == "x" }, nil},
		{"decimal integer", `mtp=4810.5`, func(c *CMCD) bool { return c.MTP == 4810 }, nil},
		{"pr integer", `pr=2`, func(c *CMCD) bool { return c.PR == 2000 }, nil},
		{"v2 event", `e=ps,sta=p,ts=1700000000000,rc=503,ttfb=120,url="/live/a.m4s"`, func(c *CMCD) bool {
			return c.E == [2]byte{'p', 's'} && c.RC == 503 && c.TTFB == 120 && c.TS == 1700000000000
		}, nil},
		{"duplicate key last wins", `br=1,br=2`, func(c *CMCD) bool { return c.BR == 2 }, nil},
		{"unterminated string", `sid="abc`, nil, ErrCMCDSyntax},
		{"bad escape", `sid="a\nb"`, nil, ErrCMCDSyntax},
		{"control char", "sid=\"a\x01\"", nil, ErrCMCDSyntax},
		{"unterminated list", `br=(1 2`, nil, ErrCMCDSyntax},
		{"nested list", `br=((1))`, nil, ErrCMCDSyntax},
		{"upper-case key", `BR=1`, nil, ErrCMCDSyntax},
		{"junk after value", `br=1 2`, nil, ErrCMCDSyntax},
		{"missing value", `br=`, nil, ErrCMCDSyntax},
		{"string for integer", `br="1"`, nil, ErrCMCDValue},
		{"token for string", `sid=abc`, nil, ErrCMCDValue},
		{"bad integer", `bl=12a`, nil, ErrCMCDValue},
		{"huge integer", `bl=12345678901234567`, nil, ErrCMCDValue},
		{"bad object type", `ot=x`, nil, ErrCMCDValue},
		{"bad boolean", `su=true`, nil, ErrCMCDValue},
		{"too many keys", strings.Repeat("x,", MaxCMCDKeys+1), nil, ErrCMCDTooManyKeys},
		{"too long", `sid="` + strings.Repeat("a", MaxCMCDLen) + `"`, nil, ErrCMCDTooLong},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var p Parser
			err := p.ParseHeaders(nil, nil, nil, []byte(tc.in))
			if tc.err != nil {
				if !errors.Is(err, tc.err) {
					t.Fatalf("err = %v, want %v", err, tc.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !tc.check(&p.CMCD) {
				t.Fatalf("parsed %+v", p.CMCD)
			}
			// The same CMCD through the query parameter parses alike.
			var q Parser
			if err := q.ParseQuery([]byte("a=1&CMCD=" + url.QueryEscape(tc.in))); err != nil || !tc.check(&q.CMCD) {
				t.Fatalf("query: err %v, parsed %+v", err, q.CMCD)
			}
		})
	}
}

func TestParseQueryEdges(t *testing.T) {
	var p Parser
	for _, q := range []string{"", "a=1", "CMCDX=1", "cmcd=br%3D1", "CMCD", "CMCD="} {
		if err := p.ParseQuery([]byte(q)); err != nil || p.Keys != 0 {
			t.Errorf("%q: err %v, keys %d", q, err, p.Keys)
		}
	}
	for _, q := range []string{"CMCD=%zz", "CMCD=%4", "CMCD=" + strings.Repeat("%41", MaxCMCDLen+1)} {
		if err := p.ParseQuery([]byte(q)); err == nil {
			t.Errorf("%q: no error", q)
		}
	}
	if err := p.ParseQuery([]byte("CMCD=br%3D1+,+bl%3D2&x=2")); err != nil || p.BR != 1 || p.BL != 2 {
		t.Errorf("'+' as space: %v %+v", err, p.CMCD)
	}
	// Reset between requests: nothing leaks from the previous one.
	_ = p.ParseQuery([]byte("CMCD=bs%2Cbr%3D9"))
	_ = p.ParseQuery([]byte("CMCD=bl%3D1"))
	if p.BS || p.BR != 0 || p.BL != 1 {
		t.Errorf("state leaked: %+v", p.CMCD)
	}
}

func TestParseDoesNotAllocate(t *testing.T) {
	var p Parser
	q := []byte(hlsjsQuery)
	h1, h2, h3, h4 := []byte(`bl=21300,dl=18500,mtp=48100,su`), []byte(`br=3200,d=4004,ot=v,tb=6000`), []byte(`bs`), []byte(`cid="faec5fc2",sid="6e2fb550",sf=h,st=l`)
	if n := testing.AllocsPerRun(100, func() { _ = p.ParseQuery(q) }); n != 0 {
		t.Errorf("ParseQuery: %v allocs", n)
	}
	if n := testing.AllocsPerRun(100, func() { _ = p.ParseHeaders(h1, h2, h3, h4) }); n != 0 {
		t.Errorf("ParseHeaders: %v allocs", n)
	}
}

func TestStripQuery(t *testing.T) {
	cases := []struct{ in, want string }{
		{"", ""},
		{"a=1&b=2", "a=1&b=2"},
		{"CMCD=br%3D1", ""},
		{"CMCD=br%3D1&token=x", "token=x"},
		{"token=x&CMCD=br%3D1", "token=x"},
		{"a=1&CMCD=x&b=2", "a=1&b=2"},
		{"a=1;CMCD=x;b=2", "a=1;CMCD=x;b=2"}, // ';' does not separate parameters
		{"cmcd=x&CMCD&a=1", "a=1"},
		{"CMCDX=1&xCMCD=2", "CMCDX=1&xCMCD=2"},
		{"_HLS_msn=5&CMCD=x&_HLS_part=1", "_HLS_msn=5&_HLS_part=1"},
	}
	for _, tc := range cases {
		if got := string(StripQuery([]byte(tc.in))); got != tc.want {
			t.Errorf("StripQuery(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
	q := []byte("_HLS_msn=5&_HLS_part=1&token=abc")
	if n := testing.AllocsPerRun(100, func() { _ = StripQuery(q) }); n != 0 {
		t.Errorf("StripQuery without CMCD: %v allocs", n)
	}
	dst := make([]byte, 0, 256)
	cq := []byte(hlsjsQuery)
	if n := testing.AllocsPerRun(100, func() { dst = AppendStripped(dst[:0], cq) }); n != 0 {
		t.Errorf("AppendStripped: %v allocs", n)
	}
}

func FuzzParse(f *testing.F) {
	f.Add([]byte(hlsjsQuery), []byte(`bl=21300,su`))
	f.Add([]byte("CMCD=br%3D(3000%3Bv%20128)"), []byte(`sid="a\"b",br=(1 2);x="y"`))
	f.Add([]byte("CMCD=%"), []byte(`sid="`))
	f.Fuzz(func(t *testing.T, query, header []byte) {
		var p Parser
		_ = p.ParseQuery(query)
		_ = p.ParseHeaders(header, header, nil, header)
		if p.Keys > MaxCMCDKeys || len(p.SID) > MaxCMCDLen {
			t.Fatalf("bounds: %d keys, sid %d bytes", p.Keys, len(p.SID))
		}
		stripped := StripQuery(query)
		if len(stripped) > len(query) || hasCMCD(stripped) {
			t.Fatalf("StripQuery(%q) = %q", query, stripped)
		}
	})
}

func BenchmarkParseQuery(b *testing.B) {
	var p Parser
	q := []byte(hlsjsQuery)
	b.ReportAllocs()
	b.SetBytes(int64(len(q)))
	for b.Loop() {
		if err := p.ParseQuery(q); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkParseHeaders(b *testing.B) {
	var p Parser
	h1, h2, h3, h4 := []byte(`bl=21300,dl=18500,mtp=48100,nor="..%2F300kbps%2Ftrack.m4v",su`), []byte(`br=3200,d=4004,ot=v,tb=6000`), []byte(`bs,rtp=12000`), []byte(`cid="faec5fc2-ac30-11ea-bb37-0242ac130002",pr=1.08,sf=d,sid="6e2fb550-c457-11e9-bb97-0800200c9a66",st=v`)
	b.ReportAllocs()
	b.SetBytes(int64(len(h1) + len(h2) + len(h3) + len(h4)))
	for b.Loop() {
		if err := p.ParseHeaders(h1, h2, h3, h4); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkStripQuery(b *testing.B) {
	q := []byte("_HLS_msn=5&_HLS_part=1&token=abc")
	b.ReportAllocs()
	for b.Loop() {
		_ = StripQuery(q)
	}
}
