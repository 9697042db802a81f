package object

import (
	"io"
	"sync"
)

var copyBufs = sync.Pool{New: func() any { b := make([]byte, 32<<10); return &b }}

// Copy copies src to dst in chunks of at most 32 KiB through a pooled
// buffer, one Write per chunk read: a body arriving from an encoder or an
// upstream reaches an object (and its readers) as it arrives, and a
// writer that counts or limits sees every chunk. It never hands over to a
// WriterTo or ReaderFrom that would bypass that.
func Copy(dst io.Writer, src io.Reader) (int64, error) {
	bufp := copyBufs.Get().(*[]byte)
	defer copyBufs.Put(bufp)
	return io.CopyBuffer(onlyWriter{dst}, onlyReader{src}, *bufp)
}

type onlyReader struct{ io.Reader }

type onlyWriter struct{ io.Writer }
