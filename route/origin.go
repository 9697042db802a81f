package route

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/ringside-live/ringside/shield"
)

// HopHeader carries the ids of the Ringside nodes a request went through,
// comma-separated, so each tier shows in logs and loops are refused.
const HopHeader = "X-Ringside-Hop"

// SplitHops parses a hop header.
func SplitHops(h string) []string {
	if h == "" {
		return nil
	}
	return strings.Split(h, ",")
}

// NewClient returns an HTTP client for one job: connecting and waiting
// for response headers are each bounded by headerTimeout (0: no header
// bound, 5 s to connect, for long polls); bodies are bounded by the
// caller's context.
func NewClient(headerTimeout time.Duration) *http.Client {
	tr := http.DefaultTransport.(*http.Transport).Clone()
	dial := headerTimeout
	if dial == 0 {
		dial = 5 * time.Second
	}
	tr.DialContext = (&net.Dialer{Timeout: dial, KeepAlive: 30 * time.Second}).DialContext
	tr.MaxIdleConns = 1024
	tr.MaxIdleConnsPerHost = 256
	tr.IdleConnTimeout = 90 * time.Second
	tr.ResponseHeaderTimeout = headerTimeout
	// Compression would hide lengths and cost CPU on both ends; bodies are
	// video or small playlists.
	tr.DisableCompression = true
	return &http.Client{Transport: tr}
}

// get performs one upstream GET for r at url, adding this node to the hop
// header and a Range header when resuming; header sets extra headers
// (the cluster token on peer requests).
func get(ctx context.Context, c *http.Client, url string, r shield.Request, self, source string, header http.Header) (*shield.Response, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return nil, fmt.Errorf("route: request for %s: %w", url, err)
	}
	for k, v := range header {
		req.Header[k] = v
	}
	hops := self
	if r.Hops != "" {
		hops = r.Hops + "," + self
	}
	req.Header.Set(HopHeader, hops)
	if r.Offset > 0 {
		req.Header.Set("Range", "bytes="+strconv.FormatInt(r.Offset, 10)+"-")
	}
	req.Header.Set("Accept-Encoding", "identity")
	resp, err := c.Do(req)
	if err != nil {
		return nil, fmt.Errorf("route: fetch %s: %w", url, err)
	}
	out := &shield.Response{Status: resp.StatusCode, ContentLength: resp.ContentLength, Body: resp.Body, Source: source}
	if resp.StatusCode == http.StatusPartialContent {
		out.Status, out.Partial = http.StatusOK, true
	}
	return out, nil
}

// originURL is the pull origin's URL of r: the object at event path P comes
// from {base}/{P}.
func originURL(base string, r shield.Request) string {
	u := strings.TrimRight(base, "/") + "/" + r.Path
	if r.Query != "" {
		u += "?" + r.Query
	}
	return u
}
