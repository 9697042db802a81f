package bmff

import (
	"encoding/binary"
	"errors"
)

// maxPrftSize bounds the prft boxes the scanner reads (version 1 is 32
// bytes); larger ones are skipped unread.
const maxPrftSize = 256

var (
	typFree = fcc("free")
	typSkip = fcc("skip")
)

// errClosed is returned by Write after Close.
var errClosed = errors.New("bmff: write after Close")

// Scanner finds the movie fragments of a media stream (a CMAF segment, or
// any sequence of top-level boxes) as its bytes arrive, in pieces of any
// size. It holds the 16-byte header of the current box and the body of the
// current moof (and prft), never mdat payload: mdat bytes are counted and
// dropped. A Scanner is not safe for concurrent use.
type Scanner struct {
	cfg  Config
	init *Init
	emit func(Fragment)

	off    int64 // bytes consumed so far
	err    error // sticky: the first error, returned by every later call
	closed bool

	// The current top-level box.
	hdr     [16]byte
	hdrN    int  // header bytes gathered so far
	inBody  bool // header complete, body bytes flowing
	typ     fourcc
	boxOff  int64
	bodyOff int64
	remain  uint64 // body bytes still to come
	toEnd   bool   // size 0: the box runs until Close
	keep    bool   // the body is gathered in buf (moof, prft)
	buf     []byte // reused between boxes
	fragOff int64  // offset of the fragment's first box, -1 if none yet

	moof     Fragment // the parsed moof, valid when haveMoof
	haveMoof bool
	prft     *ProducerReference
}

// NewScanner returns a scanner with DefaultConfig that calls emit with
// each fragment as soon as the fragment's last byte (the end of its mdat)
// has been written. init supplies the timescales and trex defaults; it
// may be nil, in which case TrackFragment.Timescale is 0 and every trun
// must find its sample durations in itself or in its tfhd.
//
// emit runs inside Write (or Close, for a last mdat of size 0), on the
// writer's goroutine; it must not call the scanner. It owns the Fragment,
// Tracks included. In an io.MultiWriter, put the scanner after the writer
// that stores the bytes, so a fragment is announced only once it is
// stored.
func NewScanner(init *Init, emit func(Fragment)) *Scanner {
	s, _ := NewScannerConfig(DefaultConfig(), init, emit)
	return s
}

// NewScannerConfig is NewScanner with explicit limits.
func NewScannerConfig(cfg Config, init *Init, emit func(Fragment)) (*Scanner, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if emit == nil {
		emit = func(Fragment) {}
	}
	return &Scanner{cfg: cfg, init: init, emit: emit, fragOff: -1}, nil
}

// Reset makes the scanner ready for a new stream (the next segment),
// keeping its configuration, init segment, callback and buffer.
func (s *Scanner) Reset() {
	*s = Scanner{cfg: s.cfg, init: s.init, emit: s.emit, buf: s.buf[:0], fragOff: -1}
}

// Offset is the number of bytes written so far.
func (s *Scanner) Offset() int64 { return s.off }

// Write consumes p. It returns len(p) and nil, or the number of bytes
// consumed (through the header or box found wrong) and an error wrapping
// ErrMalformed, ErrTruncated or ErrLimit; after an error every call
// returns it again.
func (s *Scanner) Write(p []byte) (int, error) {
	if s.err != nil {
		return 0, s.err
	}
	if s.closed {
		return 0, errClosed
	}
	n := 0
	for n < len(p) {
		if !s.inBody {
			n += s.header(p[n:])
		} else {
			chunk := p[n:]
			if !s.toEnd && uint64(len(chunk)) > s.remain {
				chunk = chunk[:s.remain]
			}
			if s.keep {
				s.buf = append(s.buf, chunk...)
			}
			n += len(chunk)
			s.off += int64(len(chunk))
			if !s.toEnd {
				s.remain -= uint64(len(chunk))
				if s.remain == 0 {
					s.endBox()
				}
			}
		}
		if s.err != nil {
			return n, s.err
		}
	}
	return n, nil
}

// Close ends the stream. It finishes a last box of size 0 (emitting its
// fragment if it is an mdat) and reports a box or fragment cut short:
// a partial header, a box with fewer bytes than its size, a moof with no
// mdat. Bytes after the last fragment that form no fragment (a lone styp)
// are not an error.
func (s *Scanner) Close() error {
	if s.err != nil || s.closed {
		return s.err
	}
	s.closed = true
	switch {
	case s.inBody && s.toEnd:
		s.endBox()
	case s.inBody:
		s.err = errorf(ErrTruncated, s.typ.String(), s.boxOff, "stream ended %d bytes before the end of the box", s.remain)
	case s.hdrN > 0:
		s.err = errorf(ErrTruncated, "", s.boxOff, "stream ended inside a box header")
	}
	if s.err == nil && s.haveMoof {
		s.err = errorf(ErrTruncated, "moof", s.moof.MoofOffset, "stream ended before its mdat")
	}
	return s.err
}

// header gathers header bytes from p and starts the box once the header
// is complete. It returns how many bytes it used.
func (s *Scanner) header(p []byte) int {
	if s.hdrN == 0 {
		s.boxOff = s.off
	}
	need := 8
	if s.hdrN >= 8 && binary.BigEndian.Uint32(s.hdr[:]) == 1 {
		need = 16
	}
	k := copy(s.hdr[s.hdrN:need], p)
	s.hdrN += k
	s.off += int64(k)
	if s.hdrN < need {
		return k
	}
	if need == 8 && binary.BigEndian.Uint32(s.hdr[:]) == 1 {
		return k + s.header(p[k:]) // largesize: 8 more bytes
	}
	s.startBox(need)
	return k
}

// startBox checks a complete header of hdrLen bytes against the rules
// and limits, and sets up the body.
func (s *Scanner) startBox(hdrLen int) {
	size := uint64(binary.BigEndian.Uint32(s.hdr[:]))
	if hdrLen == 16 {
		size = binary.BigEndian.Uint64(s.hdr[8:])
	}
	s.typ = fourcc(binary.BigEndian.Uint32(s.hdr[4:]))
	s.bodyOff = s.off
	s.hdrN, s.inBody, s.keep, s.toEnd = 0, true, false, size == 0
	switch {
	case s.toEnd && (s.typ == typMoof || s.typ == typPrft):
		s.fail(errorf(ErrMalformed, s.typ.String(), s.boxOff, "size 0 (to end of stream) is not allowed for a %s", s.typ))
		return
	case !s.toEnd && size < uint64(hdrLen):
		s.fail(errorf(ErrMalformed, s.typ.String(), s.boxOff, "size %d is smaller than its %d-byte header", size, hdrLen))
		return
	case size > uint64(s.cfg.MaxBoxSize):
		s.fail(errorf(ErrLimit, s.typ.String(), s.boxOff, "size %d exceeds the limit of %d bytes", size, s.cfg.MaxBoxSize))
		return
	}
	s.remain = size - uint64(hdrLen)
	if s.toEnd {
		s.remain = 0
	}

	if err := s.admit(size); err != nil {
		s.fail(err)
		return
	}
	switch s.typ {
	case typFtyp, typMoov, typMfra, typMeta:
		s.fragOff, s.prft = -1, nil
	default:
		if s.fragOff < 0 {
			s.fragOff = s.boxOff
		}
	}
	if s.remain == 0 && !s.toEnd {
		s.endBox()
	}
}

// admit applies the rules of the box's type: where it may appear, how
// large it may be, whether its body is kept.
func (s *Scanner) admit(size uint64) error {
	switch s.typ {
	case typMdat:
		if !s.haveMoof {
			return errorf(ErrMalformed, s.typ.String(), s.boxOff, "mdat with no moof before it")
		}
	case typFtyp, typMoov, typMfra, typMeta:
		// Not part of any fragment: an init segment sent ahead of the media,
		// or the random-access index of a finished file.
		if s.haveMoof {
			return errorf(ErrMalformed, s.typ.String(), s.boxOff, "%s between a moof and its mdat", s.typ)
		}
	case typMoof:
		if s.haveMoof {
			return errorf(ErrMalformed, s.typ.String(), s.boxOff, "moof at %d has no mdat", s.moof.MoofOffset)
		}
		if size > uint64(s.cfg.MaxMoofSize) {
			return errorf(ErrLimit, s.typ.String(), s.boxOff, "size %d exceeds the moof limit of %d bytes", size, s.cfg.MaxMoofSize)
		}
		s.keep, s.buf = true, s.buf[:0]
	case typFree, typSkip, typUUID:
	default:
		// styp, sidx, prft, emsg and the like: small by nature.
		if !s.toEnd && size > uint64(s.cfg.MaxMoofSize) {
			return errorf(ErrLimit, s.typ.String(), s.boxOff, "size %d exceeds the limit of %d bytes for a box other than mdat", size, s.cfg.MaxMoofSize)
		}
		if s.typ == typPrft && size <= maxPrftSize {
			s.keep, s.buf = true, s.buf[:0]
		}
	}
	return nil
}

// endBox acts on a box whose last byte has arrived.
func (s *Scanner) endBox() {
	s.inBody = false
	switch s.typ {
	case typMoof:
		f, err := s.parseMoof(s.buf, s.boxOff, s.bodyOff)
		if err != nil {
			s.fail(err)
			return
		}
		s.moof, s.haveMoof = f, true
	case typPrft:
		if s.keep {
			s.prft = parsePrft(s.buf)
		}
	case typMdat:
		f := s.moof
		f.Offset, f.Size, f.Producer = s.fragOff, s.off-s.fragOff, s.prft
		s.moof, s.haveMoof, s.prft, s.fragOff = Fragment{}, false, nil, -1
		s.emit(f)
	}
	s.keep = false
}

func (s *Scanner) fail(err error) {
	if s.err == nil {
		s.err = err
	}
}

// parsePrft reads a prft body; a malformed one is ignored (nil): it is
// advisory and must not fail a stream.
func parsePrft(b []byte) *ProducerReference {
	c := cursor{b: b}
	v, _ := c.fullBox()
	p := &ProducerReference{TrackID: c.u32(), NTP: c.u64()}
	if v == 0 {
		p.MediaTime = uint64(c.u32())
	} else {
		p.MediaTime = c.u64()
	}
	if c.short {
		return nil
	}
	return p
}

var _ interface {
	Write([]byte) (int, error)
	Close() error
} = (*Scanner)(nil)
