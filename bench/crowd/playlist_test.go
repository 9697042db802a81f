package crowd

import (
	"errors"
	"testing"
	"time"
)

func TestParseMedia(t *testing.T) {
	tests := []struct {
		name    string
		in      string
		td      time.Duration
		first   int64
		uris    []string
		wantErr bool
	}{
		{
			name:  "live",
			in:    "#EXTM3U\n#EXT-X-VERSION:3\n#EXT-X-TARGETDURATION:2\n#EXT-X-MEDIA-SEQUENCE:41\n#EXT-X-PROGRAM-DATE-TIME:2025-01-01T00:00:00.000Z\n#EXTINF:2.000,\nseg41.ts\n#EXTINF:2.000,\nseg42.ts?token=x\n",
			td:    2 * time.Second,
			first: 41,
			uris:  []string{"seg41.ts", "seg42.ts?token=x"},
		},
		{
			name: "crlf and no sequence",
			in:   "#EXTM3U\r\n#EXT-X-TARGETDURATION:6\r\n#EXTINF:6,\r\na.ts\r\n",
			td:   6 * time.Second,
			uris: []string{"a.ts"},
		},
		{name: "empty", in: "", wantErr: true},
		{name: "not a playlist", in: "<html>\n", wantErr: true},
		{name: "no target duration", in: "#EXTM3U\n#EXTINF:2,\na.ts\n", wantErr: true},
		{name: "bad sequence", in: "#EXTM3U\n#EXT-X-TARGETDURATION:2\n#EXT-X-MEDIA-SEQUENCE:x\n", wantErr: true},
		{name: "master", in: "#EXTM3U\n#EXT-X-STREAM-INF:BANDWIDTH=1\nr0/index.m3u8\n", wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, err := parseMedia([]byte(tt.in))
			if tt.wantErr {
				if !errors.Is(err, errPlaylist) {
					t.Fatalf("err %v, want errPlaylist", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if p.targetDuration != tt.td || p.firstSeq != tt.first || len(p.uris) != len(tt.uris) {
				t.Fatalf("got %+v", p)
			}
			for i := range tt.uris {
				if p.uris[i] != tt.uris[i] {
					t.Fatalf("uri %d: %q, want %q", i, p.uris[i], tt.uris[i])
				}
			}
			if p.lastSeq() != tt.first+int64(len(tt.uris))-1 {
				t.Fatalf("lastSeq %d", p.lastSeq())
			}
		})
	}
}

func TestPercentiles(t *testing.T) {
	var r recorder
	for i := 1; i <= 100; i++ {
		r.add(time.Duration(i) * time.Millisecond)
	}
	r.addError()
	l := r.summary()
	if l.Count != 101 || l.Errors != 1 || l.P50MS != 50 || l.P95MS != 95 || l.P99MS != 99 || l.MaxMS != 100 || l.MeanMS != 50.5 {
		t.Fatalf("%+v", l)
	}
	var empty recorder
	if l := empty.summary(); l.Count != 0 || l.P99MS != 0 {
		t.Fatalf("%+v", l)
	}
}
