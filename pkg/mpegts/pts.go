// Package mpegts reads the little of an MPEG-2 transport stream that
// Ringside needs: the presentation time a segment starts at, to tell
// whether two encoders' segments continue one timeline. Standard library
// only.
package mpegts

import "errors"

// PacketSize is the size of a transport stream packet.
const PacketSize = 188

const syncByte = 0x47

// maxPES bounds how many PES headers FirstPTS reads: enough to see the
// first packet of every elementary stream of a segment.
const maxPES = 64

// ErrNoPTS: the data has no PES header with a presentation time.
var ErrNoPTS = errors.New("mpegts: no PES header with a PTS")

// ErrNotTS: the data does not start with transport stream packets.
var ErrNotTS = errors.New("mpegts: not a transport stream")

// FirstPTS returns the smallest presentation time (90 kHz, 33 bits) among
// the first PES headers of data: the time the segment's earliest stream
// starts at. Packets after a lost sync byte end the scan.
func FirstPTS(data []byte) (int64, error) {
	if len(data) < PacketSize || data[0] != syncByte {
		return 0, ErrNotTS
	}
	best, found, seen := int64(0), false, 0
	for off := 0; off+PacketSize <= len(data) && seen < maxPES; off += PacketSize {
		p := data[off : off+PacketSize]
		if p[0] != syncByte {
			break
		}
		if p[1]&0x40 == 0 { // not a payload unit start
			continue
		}
		payload := 4
		switch p[3] >> 4 & 0x3 { // adaptation_field_control
		case 0x1:
		case 0x3:
			payload += 1 + int(p[4])
		default:
			continue
		}
		if payload+14 > PacketSize {
			continue
		}
		pts, ok := pesPTS(p[payload:])
		if !ok {
			continue
		}
		seen++
		if !found || pts < best {
			best, found = pts, true
		}
	}
	if !found {
		return 0, ErrNoPTS
	}
	return best, nil
}

// pesPTS reads the PTS of a PES header, if it has one.
func pesPTS(b []byte) (int64, bool) {
	if b[0] != 0 || b[1] != 0 || b[2] != 1 {
		return 0, false
	}
	switch sid := b[3]; {
	case sid == 0xbc, sid == 0xbe, sid == 0xbf, sid == 0xf0, sid == 0xf1, sid == 0xff, sid == 0xf2, sid == 0xf8:
		return 0, false // streams without the optional PES header
	}
	if b[6]&0xc0 != 0x80 || b[7]&0x80 == 0 {
		return 0, false
	}
	t := b[9:14]
	if t[0]&0x01 == 0 || t[2]&0x01 == 0 || t[4]&0x01 == 0 {
		return 0, false // marker bits
	}
	pts := int64(t[0]>>1&0x07)<<30 | int64(t[1])<<22 | int64(t[2]>>1)<<15 | int64(t[3])<<7 | int64(t[4]>>1)
	return pts, true
}
