//go:build unix

package browser

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os/exec"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/ringside-live/ringside/test/childproc"
)

// spec is play.mjs's input (see its header comment).
type spec struct {
	Player       string  `json:"player"` // hls.js, dash.js or shaka
	Page         string  `json:"page"`
	Manifest     string  `json:"manifest"`
	Seconds      float64 `json:"seconds"`      // of playback after the first frame
	StartTimeout float64 `json:"startTimeout"` // for the first frame
	// SPKI: the base64 SHA-256 of the public keys Chromium accepts
	// whatever their certificate (--ignore-certificate-errors-spki-list).
	SPKI     []string `json:"spki,omitempty"`
	Chromium string   `json:"chromium"`
	// Config goes to the player: Hls config, dash.js settings, Shaka
	// configure.
	Config map[string]any `json:"config,omitempty"`
	// MaxRequests bounds the responses recorded (default 400).
	MaxRequests int `json:"maxRequests,omitempty"`
	// Inspect is a RegExp: the bodies of 200 responses whose URL matches
	// have their lines starting with each of Tags counted (request.Tags).
	Inspect string   `json:"inspect,omitempty"`
	Tags    []string `json:"tags,omitempty"`
}

// result is play.mjs's output: the page's report and what Chromium saw.
type result struct {
	Report     *report   `json:"report"`
	Requests   []request `json:"requests"`
	Preflights []request `json:"preflights"` // CORS OPTIONS requests, Method empty
	Console    []string  `json:"console"`
	// Timing: seconds from the driver's start to launch, page, player,
	// firstFrame, played, closed.
	Timing      map[string]float64 `json:"timing"`
	TimedOut    string             `json:"timedOut"`
	DriverError string             `json:"driverError"`
}

// report is page/harness.js's account of the playback.
type report struct {
	Player          string        `json:"player"`
	PlayerVersion   string        `json:"playerVersion"`
	Manifest        string        `json:"manifest"`
	Loaded          bool          `json:"loaded"`
	Started         bool          `json:"started"`
	StartupSeconds  *float64      `json:"startupSeconds"`
	SecondsPlayed   float64       `json:"secondsPlayed"`
	WaitingEvents   int           `json:"waitingEvents"`
	Stalls          []stall       `json:"stalls"`
	RebufferSeconds float64       `json:"rebufferSeconds"`
	Errors          []playerError `json:"errors"`
	Fatal           bool          `json:"fatal"`
	Levels          int           `json:"levels"`
	Level           *level        `json:"level"`
	Video           video         `json:"video"`
	// Latency is sampled every 0.5 s after the first frame (live streams).
	Latency []latencySample `json:"latency"`
	// LowLatency: the player says it plays in low-latency mode (nil: it
	// could not say).
	LowLatency *bool `json:"lowLatency"`
}

// latencySample is the latency at one moment: Latency is the player's own
// figure (hls.js: hls.latency, to the live edge of its playlist; dash.js:
// getCurrentLiveLatency(); Shaka: getStats().liveLatency), Wall is now
// minus the wall-clock time of the frame playing (hls.js: from
// EXT-X-PROGRAM-DATE-TIME; dash.js and Shaka compute their own figure
// so), Rate the playback rate (catch-up). nil: the player had no figure.
type latencySample struct {
	At      float64  `json:"at"` // seconds after the first frame
	Latency *float64 `json:"latency"`
	Wall    *float64 `json:"wall"`
	Rate    float64  `json:"rate"`
}

type stall struct {
	At      float64 `json:"at"` // seconds after the first frame
	Seconds float64 `json:"seconds"`
	Ongoing bool    `json:"ongoing"`
}

// playerError is one error event of the player, with the HTTP status the
// player itself saw (0: the response could not be read, as after a
// missing CORS header; nil: the error was not about a response).
type playerError struct {
	Fatal   bool     `json:"fatal"`
	Type    string   `json:"type"`
	Details string   `json:"details"`
	Status  *int     `json:"status"`
	URL     string   `json:"url"`
	Message string   `json:"message"`
	At      *float64 `json:"at"` // seconds after the first frame; nil: before it
}

type level struct {
	Width   int `json:"width"`
	Height  int `json:"height"`
	Bitrate int `json:"bitrate"`
}

type video struct {
	Width         int  `json:"width"`
	Height        int  `json:"height"`
	DroppedFrames int  `json:"droppedFrames"`
	TotalFrames   int  `json:"totalFrames"`
	Paused        bool `json:"paused"`
	MediaError    *struct {
		Code    int    `json:"code"`
		Message string `json:"message"`
	} `json:"mediaError"`
}

// request is one response (or failure, status 0) Chromium saw.
type request struct {
	Method  string `json:"method"`
	URL     string `json:"url"`
	Status  int    `json:"status"`
	Failure string `json:"failure"`
	// Tags counts the body's lines starting with each of spec.Tags, for
	// inspected responses whose body was read (nil otherwise).
	Tags map[string]int `json:"tags"`
	// At is when the response (or failure) came and End when its body
	// ended (0: not seen), in seconds since the driver started.
	At  float64 `json:"at"`
	End float64 `json:"end"`
}

// play runs play.mjs on s and returns its result. node and the Chromium
// it launches form one process group, killed if the driver overruns its
// own bounds by 45 s.
func play(t *testing.T, s spec) result {
	t.Helper()
	in, err := json.Marshal(s)
	if err != nil {
		t.Fatal(err)
	}
	limit := time.Duration((s.Seconds+s.StartTimeout)*float64(time.Second)) + 45*time.Second
	ctx, cancel := context.WithTimeout(context.Background(), limit)
	defer cancel()
	cmd := exec.CommandContext(ctx, "node", "play.mjs")
	cmd.Stdin = bytes.NewReader(in)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	cmd.SysProcAttr = childproc.Attr()
	cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) }
	cmd.WaitDelay = 5 * time.Second
	runErr := cmd.Run()
	var r result
	if err := json.Unmarshal(stdout.Bytes(), &r); err != nil {
		t.Fatalf("play.mjs %s: %v (%v); stdout:\n%s\nstderr:\n%s", in, runErr, err, stdout.String(), stderr.String())
	}
	if r.DriverError != "" || r.Report == nil {
		t.Fatalf("play.mjs %s could not drive Chromium (%v): %s\nstderr:\n%s\nconsole:\n%s",
			in, runErr, r.DriverError, stderr.String(), strings.Join(r.Console, "\n"))
	}
	return r
}

// summary says in one paragraph what the player saw.
func (r result) summary() string {
	p := r.Report
	var b strings.Builder
	fmt.Fprintf(&b, "%s %s on %s: ", p.Player, p.PlayerVersion, p.Manifest)
	if p.Started {
		fmt.Fprintf(&b, "first frame after %.2f s, played %.1f s, %d stalls (%.2f s rebuffering, %d waiting events)",
			*p.StartupSeconds, p.SecondsPlayed, len(p.Stalls), p.RebufferSeconds, p.WaitingEvents)
		for _, s := range p.Stalls {
			fmt.Fprintf(&b, " [stall at %.1f s for %.2f s]", s.At, s.Seconds)
		}
		if p.Level != nil {
			fmt.Fprintf(&b, ", ended on %dx%d at %d bit/s (of %d renditions)", p.Level.Width, p.Level.Height, p.Level.Bitrate, p.Levels)
		}
		fmt.Fprintf(&b, ", video %dx%d, %d of %d frames dropped", p.Video.Width, p.Video.Height, p.Video.DroppedFrames, p.Video.TotalFrames)
	} else {
		b.WriteString("never played")
		if r.TimedOut != "" {
			b.WriteString(" (" + r.TimedOut + ")")
		}
	}
	if p.Video.MediaError != nil {
		fmt.Fprintf(&b, "; media error %d %q", p.Video.MediaError.Code, p.Video.MediaError.Message)
	}
	if len(p.Errors) == 0 {
		b.WriteString("; no errors")
	}
	for _, e := range p.Errors {
		b.WriteString("; " + e.String())
	}
	return b.String()
}

func (e playerError) String() string {
	kind := "error"
	if e.Fatal {
		kind = "fatal error"
	}
	status := "no HTTP status"
	if e.Status != nil {
		status = fmt.Sprintf("HTTP status %d", *e.Status)
	}
	when := "before the first frame"
	if e.At != nil {
		when = fmt.Sprintf("%.1f s after the first frame", *e.At)
	}
	return fmt.Sprintf("%s %s/%s with %s on %s %s (%s)", kind, e.Type, e.Details, status, e.URL, when, e.Message)
}

// network lists the requests Chromium made to the given origins (and
// failed ones anywhere), the preflights, the driver's timing and the
// page's console, for failure messages.
func (r result) network(origins ...string) string {
	var b strings.Builder
	for _, q := range r.Requests {
		if hasAnyPrefix(q.URL, origins) || q.Status >= 400 || q.Status == 0 {
			fmt.Fprintf(&b, "  %6.2f-%6.2f s %s %s -> %d %s\n", q.At, q.End, q.Method, q.URL, q.Status, q.Failure)
		}
	}
	for _, q := range r.Preflights {
		fmt.Fprintf(&b, "  OPTIONS %s -> %d %s\n", q.URL, q.Status, q.Failure)
	}
	fmt.Fprintf(&b, "  driver timing (s): launch %.2f, page %.2f, player %.2f, first frame %.2f, played %.2f, closed %.2f\n",
		r.Timing["launch"], r.Timing["page"], r.Timing["player"], r.Timing["firstFrame"], r.Timing["played"], r.Timing["closed"])
	if len(r.Console) > 0 {
		b.WriteString("  console:\n    " + strings.Join(r.Console, "\n    ") + "\n")
	}
	return b.String()
}

func hasAnyPrefix(s string, prefixes []string) bool {
	for _, p := range prefixes {
		if strings.HasPrefix(s, p) {
			return true
		}
	}
	return false
}
