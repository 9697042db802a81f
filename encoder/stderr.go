package encoder

import "bytes"

// noCRLF is the warning ffmpeg prints for every HTTP request whose headers
// come from the key preset (they cannot end in CRLF there).
var noCRLF = []byte("No trailing CRLF found in HTTP header")

// stderrBuffer keeps the first max bytes of ffmpeg's stderr for Run's
// error, without the noCRLF lines that would otherwise fill it in minutes.
// ffmpeg writes a log line in several pieces; lines are judged whole.
type stderrBuffer struct {
	b       bytes.Buffer
	max     int
	partial []byte
}

func (s *stderrBuffer) Write(p []byte) (int, error) {
	s.partial = append(s.partial, p...)
	for {
		i := bytes.IndexByte(s.partial, '\n')
		if i < 0 && len(s.partial) < s.max {
			return len(p), nil
		}
		if i < 0 {
			i = len(s.partial) - 1 // an endless line: keep it as it is
		}
		if line := s.partial[:i+1]; !bytes.Contains(line, noCRLF) {
			if room := s.max - s.b.Len(); room > 0 {
				s.b.Write(line[:min(len(line), room)])
			}
		}
		s.partial = s.partial[i+1:]
	}
}

// String is what was kept, with an unfinished last line.
func (s *stderrBuffer) String() string {
	return s.b.String() + string(s.partial[:min(len(s.partial), max(0, s.max-s.b.Len()))])
}
