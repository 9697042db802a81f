package manifest

import (
	"os"
	"reflect"
	"strings"
	"testing"

	"github.com/ringside-live/ringside/pkg/segment"
	"github.com/ringside-live/ringside/steering"
)

func readMaster(t *testing.T, name string) *segment.MasterPlaylist {
	t.Helper()
	data, err := os.ReadFile("testdata/" + name)
	if err != nil {
		t.Fatal(err)
	}
	m, err := segment.ParseMaster(data)
	if err != nil {
		t.Fatal(err)
	}
	return m
}

var pathways = []steering.Pathway{
	{ID: "mesh", Kind: steering.KindMesh, BaseURL: "https://edge.ringside.test/live/fight/"},
	{ID: "cdn-a", Kind: steering.KindCDN, BaseURL: "https://fight.cdn-a.example/live/fight"},
	{ID: "cdn-c", Kind: steering.KindCDN, Hostname: "fight.cdn-c.example", Clone: true},
}

const wantAgroup = `#EXTM3U
#EXT-X-VERSION:7
#EXT-X-CONTENT-STEERING:SERVER-URI="/steer/fight?session=s1",PATHWAY-ID="mesh"
#EXT-X-MEDIA:TYPE=AUDIO,GROUP-ID="group_aud-mesh",NAME="audio_0",DEFAULT=YES,LANGUAGE="en",URI="https://edge.ringside.test/live/fight/0/index.m3u8"
#EXT-X-MEDIA:TYPE=AUDIO,GROUP-ID="group_aud-cdn-a",NAME="audio_0",DEFAULT=YES,LANGUAGE="en",URI="https://fight.cdn-a.example/live/fight/0/index.m3u8"
#EXT-X-STREAM-INF:BANDWIDTH=510400,RESOLUTION=426x240,CODECS="avc1.42c015,mp4a.40.2",AUDIO="group_aud-mesh",PATHWAY-ID="mesh"
https://edge.ringside.test/live/fight/1/index.m3u8
#EXT-X-STREAM-INF:BANDWIDTH=235400,RESOLUTION=212x120,CODECS="avc1.42c00c,mp4a.40.2",AUDIO="group_aud-mesh",PATHWAY-ID="mesh"
https://edge.ringside.test/live/fight/2/index.m3u8
#EXT-X-STREAM-INF:BANDWIDTH=510400,RESOLUTION=426x240,CODECS="avc1.42c015,mp4a.40.2",AUDIO="group_aud-cdn-a",PATHWAY-ID="cdn-a"
https://fight.cdn-a.example/live/fight/1/index.m3u8
#EXT-X-STREAM-INF:BANDWIDTH=235400,RESOLUTION=212x120,CODECS="avc1.42c00c,mp4a.40.2",AUDIO="group_aud-cdn-a",PATHWAY-ID="cdn-a"
https://fight.cdn-a.example/live/fight/2/index.m3u8
`

const wantSingle = `#EXTM3U
#EXT-X-VERSION:6
#EXT-X-CONTENT-STEERING:SERVER-URI="https://steer.example/fight"
#EXT-X-STREAM-INF:BANDWIDTH=510400,RESOLUTION=426x240,CODECS="avc1.42c015,mp4a.40.2",PATHWAY-ID="cdn-a"
https://fight.cdn-a.example/live/fight/0/index.m3u8
#EXT-X-STREAM-INF:BANDWIDTH=235400,RESOLUTION=212x120,CODECS="avc1.42c00c,mp4a.40.2",PATHWAY-ID="cdn-a"
https://fight.cdn-a.example/live/fight/1/index.m3u8
`

func TestSteerMaster(t *testing.T) {
	tests := []struct {
		name     string
		file     string
		server   string
		def      string
		pathways []steering.Pathway
		want     string
	}{
		{"two pathways and a clone, audio group", "ffmpeg-agroup.m3u8", "/steer/fight?session=s1", "mesh", pathways, wantAgroup},
		{"one pathway: groups kept", "ffmpeg-ts.m3u8", "https://steer.example/fight", "", pathways[1:2], wantSingle},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := readMaster(t, tt.file)
			before := string(m.AppendTo(nil))
			snapshot := *m
			got := SteerMaster(m, tt.server, tt.def, tt.pathways)
			if s := string(got.AppendTo(nil)); s != tt.want {
				t.Fatalf("got:\n%s\nwant:\n%s", s, tt.want)
			}
			if err := got.Validate(); err != nil {
				t.Fatalf("steered playlist invalid: %v", err)
			}
			if string(m.AppendTo(nil)) != before || !reflect.DeepEqual(*m, snapshot) {
				t.Fatal("input changed")
			}
			// It parses back with typed PATHWAY-IDs.
			back, err := segment.ParseMaster(got.AppendTo(nil))
			if err != nil {
				t.Fatal(err)
			}
			for _, v := range back.Variants {
				if v.PathwayID == "" || !strings.HasPrefix(v.URI, "https://") {
					t.Fatalf("variant %+v", v)
				}
			}
		})
	}
}

func TestSteerMasterEdges(t *testing.T) {
	m := readMaster(t, "ffmpeg-ts.m3u8")
	m.Tags = append(m.Tags, segment.Tag{Name: "#EXT-X-CONTENT-STEERING", Value: `SERVER-URI="old"`, HasValue: true})

	t.Run("replaces an existing tag, no pathways", func(t *testing.T) {
		got := string(SteerMaster(m, `new"uri`, "x", nil).AppendTo(nil))
		if strings.Count(got, "EXT-X-CONTENT-STEERING") != 1 || !strings.Contains(got, `SERVER-URI="new%22uri",PATHWAY-ID="x"`) {
			t.Fatalf("got:\n%s", got)
		}
		if !strings.Contains(got, "\n0/index.m3u8\n") {
			t.Fatalf("variants not kept:\n%s", got)
		}
	})
	t.Run("skips bad and repeated ids, keeps URIs without base", func(t *testing.T) {
		ps := []steering.Pathway{{ID: "a b"}, {ID: "mesh"}, {ID: "mesh", BaseURL: "https://x/"}}
		got := SteerMaster(m, "/s", "mesh", ps)
		if len(got.Variants) != 2 || got.Variants[0].URI != "0/index.m3u8" || got.Variants[0].PathwayID != "mesh" {
			t.Fatalf("variants %+v", got.Variants)
		}
	})
}
