package ingest

import (
	"bytes"
	"context"
	"testing"
)

// BenchmarkPutSegment is the upload hot path: one segment as ffmpeg sends
// it (chunked, read in 32 KiB chunks) or with a Content-Length, into a
// buffer grown and accounted as the bytes arrive.
func BenchmarkPutSegment(b *testing.B) {
	for _, bc := range []struct {
		name     string
		size     int
		declared bool
	}{
		{"chunked-625KiB", 625 << 10, false},
		{"declared-625KiB", 625 << 10, true},
		{"chunked-4MiB", 4 << 20, false},
	} {
		b.Run(bc.name, func(b *testing.B) {
			o := newOrigin(b, nil)
			seg := make([]byte, bc.size)
			cl := int64(-1)
			if bc.declared {
				cl = int64(bc.size)
			}
			b.ReportAllocs()
			b.SetBytes(int64(bc.size))
			for b.Loop() {
				_, err := o.Put(context.Background(), Upload{Event: "ev", Path: "0/index0.ts", Token: key,
					Body: bytes.NewReader(seg), ContentLength: cl})
				if err != nil {
					b.Fatal(err)
				}
				if err := o.Delete("ev", "0/index0.ts", key); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
