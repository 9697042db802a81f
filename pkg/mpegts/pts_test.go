package mpegts

import (
	"errors"
	"testing"
)

// packet builds one TS packet starting a PES with the given PTS.
func packet(pid uint16, pts int64, adaptation int) []byte {
	p := make([]byte, PacketSize)
	p[0], p[1], p[2] = syncByte, 0x40|byte(pid>>8), byte(pid)
	i := 4
	if adaptation > 0 {
		p[3] = 0x30
		p[4] = byte(adaptation - 1)
		i += adaptation
	} else {
		p[3] = 0x10
	}
	copy(p[i:], []byte{0, 0, 1, 0xe0, 0, 0, 0x80, 0x80, 5})
	t := p[i+9:]
	t[0] = 0x21 | byte(pts>>29&0x0e)
	t[1] = byte(pts >> 22)
	t[2] = byte(pts>>14) | 1
	t[3] = byte(pts >> 7)
	t[4] = byte(pts<<1) | 1
	return p
}

func TestFirstPTS(t *testing.T) {
	var seg []byte
	seg = append(seg, packet(0x100, 1<<32+12345, 0)...) // 33-bit value
	seg = append(seg, packet(0x101, 1<<32+9000, 8)...)  // audio, earlier, behind an adaptation field
	cont := make([]byte, PacketSize)
	cont[0], cont[3] = syncByte, 0x10 // a continuation packet
	seg = append(seg, cont...)
	got, err := FirstPTS(seg)
	if err != nil || got != 1<<32+9000 {
		t.Fatalf("FirstPTS = %d, %v", got, err)
	}
}

func TestFirstPTSErrors(t *testing.T) {
	if _, err := FirstPTS([]byte("#EXTM3U\n")); !errors.Is(err, ErrNotTS) {
		t.Errorf("text: %v", err)
	}
	cont := make([]byte, PacketSize)
	cont[0], cont[3] = syncByte, 0x10
	if _, err := FirstPTS(cont); !errors.Is(err, ErrNoPTS) {
		t.Errorf("no PES: %v", err)
	}
}

func FuzzFirstPTS(f *testing.F) {
	f.Add(packet(0x100, 90000, 0))
	f.Add(append(packet(0x100, 90000, 20), packet(0x101, 1, 0)...))
	f.Fuzz(func(t *testing.T, b []byte) {
		pts, err := FirstPTS(b)
		if err == nil && (pts < 0 || pts >= 1<<33) {
			t.Fatalf("PTS %d out of range", pts)
		}
	})
}
