package object

import (
	"bytes"
	"sync"

	"github.com/klauspost/compress/gzip"
)

// gzipPool holds writers at BestSpeed: playlists are small and recompressed
// on every update, so the speed matters more than the last few bytes.
type gzipPool struct{ p sync.Pool }

var writers = &gzipPool{}

// Compress returns body gzip-compressed. Playlists are compressed once when
// published, never per request.
func Compress(body []byte) []byte {
	var buf bytes.Buffer
	buf.Grow(len(body)/3 + 64)
	w, _ := writers.p.Get().(*gzip.Writer)
	if w == nil {
		w, _ = gzip.NewWriterLevel(&buf, gzip.BestSpeed)
	} else {
		w.Reset(&buf)
	}
	w.Write(body)
	w.Close()
	writers.p.Put(w)
	return buf.Bytes()
}
