package encoder

import (
	"fmt"
	"os"
	"strings"
)

const (
	// presetFD is the descriptor on which ffmpeg finds the key preset: the
	// first of exec.Cmd.ExtraFiles.
	presetFD = 3
	// maxPresetLine is the longest preset line ffmpeg reads whole, newline
	// included: fftools opt_preset reads lines with a 1000-byte buffer;
	// longer lines are split and fail.
	maxPresetLine = 999
	// maxKeyLen keeps the HLS preset line within maxPresetLine; the DASH
	// line, whose quoting can lengthen the key, is checked whole.
	maxKeyLen = 900
)

// presetLine is the ffmpeg preset line that sets the stream key's header.
//
// HLS: "headers=Authorization: Bearer KEY", the hls muxer's own headers
// option, which it passes to every request.
//
// DASH: "http_opts=headers='Authorization: Bearer KEY'". The dash muxer
// has no headers option and ignores -headers for its uploads; it passes
// its http_opts dictionary to every request instead. A dictionary value is
// parsed as key=value pairs separated by ':' (av_dict_parse_string, with
// av_get_token quoting), so the header is quoted; a quote in the key ends
// the quoted text, follows escaped by a backslash, and the quoting resumes.
func presetLine(key string, dash bool) string {
	if !dash {
		return "headers=Authorization: Bearer " + key + "\n"
	}
	return "http_opts=headers='Authorization: Bearer " + strings.ReplaceAll(key, "'", `'\''`) + "'\n"
}

// keyPreset returns the read end of a pipe holding the ffmpeg preset line
// that sets the stream key's header (presetLine); the write end is already
// closed, so ffmpeg reads the line, then EOF. A pipe, not a file: the key
// is never on disk, and once ffmpeg has parsed its options the pipe is
// empty.
//
// A preset value ends at the line's end, so the header lacks its CRLF and
// ffmpeg adds it, warning once per HTTP connection (see stderrBuffer).
func keyPreset(line string) (*os.File, error) {
	r, w, err := os.Pipe()
	if err != nil {
		return nil, fmt.Errorf("encoder: key preset: %w", err)
	}
	// Far below the pipe's capacity: the write does not wait for a reader.
	_, err = w.WriteString(line)
	if cerr := w.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		r.Close()
		return nil, fmt.Errorf("encoder: key preset: %w", err)
	}
	return r, nil
}
