package mesh

import (
	"bytes"
	"context"
	"log/slog"
)

// slogWriter receives memberlist's log.Logger output, one line per Write, and
// re-emits it through slog. memberlist tags lines "[ERR]", "[WARN]",
// "[INFO]" or "[DEBUG]"; errors and warnings keep their level, the rest
// (the chatter of a healthy cluster) goes to debug.
type slogWriter struct {
	log *slog.Logger
}

func (w slogWriter) Write(p []byte) (int, error) {
	line := bytes.TrimSpace(p)
	level := slog.LevelDebug
	for _, tag := range []struct {
		prefix string
		level  slog.Level
	}{{"[ERR]", slog.LevelError}, {"[WARN]", slog.LevelWarn}, {"[INFO]", slog.LevelDebug}, {"[DEBUG]", slog.LevelDebug}} {
		if rest, ok := bytes.CutPrefix(line, []byte(tag.prefix)); ok {
			line, level = bytes.TrimSpace(rest), tag.level
			break
		}
	}
	ctx := context.Background()
	if w.log.Enabled(ctx, level) {
		w.log.Log(ctx, level, string(line), "component", "memberlist")
	}
	return len(p), nil
}
