package encoder

import (
	"fmt"
	"os"
)

const (
	// presetFD is the descriptor on which ffmpeg finds the key preset: the
	// first of exec.Cmd.ExtraFiles.
	presetFD = 3
	// maxKeyLen keeps the preset line within ffmpeg's 1000-byte preset
	// line buffer (fftools opt_preset); longer lines are split and fail.
	maxKeyLen = 900
)

// keyPreset returns the read end of a pipe holding the ffmpeg preset that
// sets the stream key's header; the write end is already closed, so ffmpeg
// reads the line, then EOF. A pipe, not a file: the key is never on disk,
// and once ffmpeg has parsed its options the pipe is empty.
//
// A preset value ends at the line's end, so the header lacks its CRLF and
// ffmpeg adds it, warning once per HTTP request (see stderrBuffer).
func keyPreset(key string) (*os.File, error) {
	r, w, err := os.Pipe()
	if err != nil {
		return nil, fmt.Errorf("encoder: key preset: %w", err)
	}
	// Far below the pipe's capacity: the write does not wait for a reader.
	_, err = w.WriteString("headers=Authorization: Bearer " + key + "\n")
	if cerr := w.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		r.Close()
		return nil, fmt.Errorf("encoder: key preset: %w", err)
	}
	return r, nil
}
