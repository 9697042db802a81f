package segment

import (
	"fmt"
	"os"
	"strings"
	"testing"
	"time"
)

// dvrPlaylist writes a live fMP4 playlist the way ffmpeg does, n segments
// of 2 s from media sequence seq: the size of a 30-minute DVR window at
// n = 900.
func dvrPlaylist(seq, n int) []byte {
	var b strings.Builder
	fmt.Fprintf(&b, "#EXTM3U\n#EXT-X-VERSION:7\n#EXT-X-TARGETDURATION:2\n#EXT-X-MEDIA-SEQUENCE:%d\n", seq)
	b.WriteString("#EXT-X-INDEPENDENT-SEGMENTS\n#EXT-X-MAP:URI=\"init_0.mp4\"\n")
	start := time.Date(2026, 11, 23, 13, 40, 11, 123e6, time.UTC)
	for i := seq; i < seq+n; i++ {
		pdt := start.Add(time.Duration(i) * 2 * time.Second).Format("2006-01-02T15:04:05.000-0700")
		fmt.Fprintf(&b, "#EXTINF:2.000000,\n#EXT-X-PROGRAM-DATE-TIME:%s\nindex%d.m4s\n", pdt, i)
	}
	return []byte(b.String())
}

func benchInputs(b *testing.B) map[string][]byte {
	live, err := os.ReadFile("testdata/ffmpeg/fmp4-live/07.m3u8")
	if err != nil {
		b.Fatal(err)
	}
	return map[string][]byte{"ffmpeg-4": live, "dvr-900": dvrPlaylist(1000, 900)}
}

func BenchmarkParseMedia(b *testing.B) {
	for _, name := range []string{"ffmpeg-4", "dvr-900"} {
		data := benchInputs(b)[name]
		b.Run(name, func(b *testing.B) {
			b.ReportAllocs()
			b.SetBytes(int64(len(data)))
			for b.Loop() {
				if _, err := ParseMedia(data); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

func BenchmarkRenderMedia(b *testing.B) {
	for _, name := range []string{"ffmpeg-4", "dvr-900"} {
		data := benchInputs(b)[name]
		p, err := ParseMedia(data)
		if err != nil {
			b.Fatal(err)
		}
		b.Run(name, func(b *testing.B) {
			b.ReportAllocs()
			b.SetBytes(int64(len(data)))
			buf := make([]byte, 0, len(data))
			for b.Loop() {
				buf = p.AppendTo(buf[:0])
			}
		})
	}
}

func BenchmarkParseMaster(b *testing.B) {
	for _, path := range []string{"testdata/ffmpeg/vod-agroup/master.m3u8", "testdata/handwritten/master-steering.m3u8"} {
		data, err := os.ReadFile(path)
		if err != nil {
			b.Fatal(err)
		}
		b.Run(strings.TrimPrefix(path, "testdata/"), func(b *testing.B) {
			b.ReportAllocs()
			b.SetBytes(int64(len(data)))
			for b.Loop() {
				if _, err := ParseMaster(data); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

func BenchmarkCheckNext(b *testing.B) {
	for _, n := range []int{4, 900} {
		prev, err := ParseMedia(dvrPlaylist(1000, n))
		if err != nil {
			b.Fatal(err)
		}
		next, err := ParseMedia(dvrPlaylist(1001, n))
		if err != nil {
			b.Fatal(err)
		}
		b.Run(fmt.Sprintf("window-%d", n), func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if err := CheckNext(prev, next); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
