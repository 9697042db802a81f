package faults

import (
	"fmt"
	"os"
	"strings"
	"sync"
	"time"
)

// report collects each scenario's figures as Markdown table rows and
// writes them into bench/FAULTS.md between its figure markers.
type report struct {
	mu    sync.Mutex
	order []string
	rows  map[string][]string
}

func newReport() *report { return &report{rows: map[string][]string{}} }

func (r *report) add(section, format string, args ...any) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if _, ok := r.rows[section]; !ok {
		r.order = append(r.order, section)
	}
	r.rows[section] = append(r.rows[section], fmt.Sprintf(format, args...))
}

const (
	beginMark = "<!-- faults:begin (written by make faults) -->"
	endMark   = "<!-- faults:end -->"
)

// write replaces the text between the markers of path (appending them
// when missing) with the figures of this run.
func (r *report) write(path string) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	var b strings.Builder
	fmt.Fprintf(&b, "%s\nRun of %s (%s).\n", beginMark, time.Now().UTC().Format("2006-01-02 15:04 MST"), hostInfo())
	for _, s := range r.order {
		fmt.Fprintf(&b, "\n#### %s\n\n| what | measured |\n|---|---|\n%s\n", s, strings.Join(r.rows[s], "\n"))
	}
	b.WriteString(endMark)
	old, err := os.ReadFile(path)
	if err != nil && !os.IsNotExist(err) {
		return err
	}
	text := string(old)
	i, j := strings.Index(text, beginMark), strings.Index(text, endMark)
	if i >= 0 && j > i {
		text = text[:i] + b.String() + text[j+len(endMark):]
	} else {
		text += "\n" + b.String() + "\n"
	}
	return os.WriteFile(path, []byte(text), 0o644)
}

func hostInfo() string {
	b, _ := os.ReadFile("/proc/cpuinfo")
	return fmt.Sprintf("%d cores", strings.Count(string(b), "processor\t"))
}
