package llcrowd

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"
)

// cycle is one turn of a player's loop: the blocking reload for one part
// and, with hints, the fetch of that part. Times are unix nanoseconds, 0
// when the step did not happen or failed.
type cycle struct {
	msn, part int64
	// joined marks a player's first cycle after it loaded the playlist
	// without directives: its part may long be published (that playlist
	// came from a cache), so it says how the player joined, not how it
	// woke; the latencies leave it out, and the next cycles until the
	// player has caught up with the live edge.
	joined                        bool
	plSent, plDone                int64
	partSent, partFirst, partDone int64
}

// errStale: a blocking reload was answered with a playlist that does not
// list the part it asked for.
var errStale = errors.New("llcrowd: the playlist does not list the part asked for")

// player is one viewer of one rendition on one base URL. It is used by
// one goroutine (and, per cycle, one more for the hinted part).
type player struct {
	c            *Crowd
	base         *url.URL
	dir          *url.URL // the media playlist's directory, for its URIs
	playlistPath string   // path of the media playlist, for the request line
	joinAt       time.Duration
	pl, part     *conn // playlists, parts
	body         bytes.Buffer
	buf, partBuf []byte
	cycles       []cycle
	joins        []time.Duration // join playlist TTFB
	stalls       int64           // cycles lost to an error
	turns        int             // parts fetched, for VerifyEvery
	skipped      int64           // parts a reload jumped over
}

func newPlayer(c *Crowd, i int) *player {
	rng := rand.New(rand.NewPCG(c.cfg.Seed, uint64(i)))
	base, _ := url.Parse(c.cfg.Bases[i%len(c.cfg.Bases)]) // checked by Validate
	rendition := c.cfg.Renditions[rng.IntN(len(c.cfg.Renditions))]
	playlist := base.JoinPath(rendition, "index.m3u8")
	p := &player{
		c:            c,
		base:         base,
		dir:          base.JoinPath(rendition),
		playlistPath: playlist.EscapedPath(),
		joinAt:       time.Duration(rng.Int64N(int64(c.cfg.JoinWindow) + 1)),
		pl:           newConn(base.Host),
		buf:          make([]byte, 4<<10),
	}
	p.dir.Path += "/"
	if c.cfg.Hint {
		p.part = newConn(base.Host)
		p.partBuf = make([]byte, 16<<10)
	}
	return p
}

func (p *player) run(ctx context.Context) {
	defer context.AfterFunc(ctx, p.close)()
	defer p.close()
	if !sleep(ctx, p.joinAt) {
		return
	}
	p.c.joined.Add(1)
	for ctx.Err() == nil {
		if pl, ok := p.join(ctx); ok {
			p.follow(ctx, pl)
		}
		if !sleep(ctx, p.c.cfg.Retry) {
			return
		}
	}
}

func (p *player) close() {
	p.pl.close()
	if p.part != nil {
		p.part.close()
	}
}

// deadline bounds a request by the timeout and the end of the run.
func (p *player) deadline() time.Time {
	return minTime(time.Now().Add(p.c.cfg.Timeout), p.c.end)
}

func minTime(a, b time.Time) time.Time {
	if a.Before(b) {
		return a
	}
	return b
}

// join loads the media playlist without directives.
func (p *player) join(ctx context.Context) (*llPlaylist, bool) {
	if !p.c.take() {
		return nil, false
	}
	p.body.Reset()
	ex, err := p.pl.get(p.playlistPath, p.deadline(), &p.body, p.buf)
	if p.failed(ctx, "join playlist", ex, err) {
		return nil, false
	}
	pl, err := scanPlaylist(p.body.Bytes())
	if err != nil {
		p.fail(ctx, "join playlist", "bad", err)
		return nil, false
	}
	p.joins = append(p.joins, ex.first.Sub(ex.sent))
	return pl, true
}

// follow loops on blocking reloads (and hinted parts) until an error or
// the end of the run.
func (p *player) follow(ctx context.Context, pl *llPlaylist) {
	for first := true; ctx.Err() == nil; first = false {
		msn, part := pl.next()
		cy := cycle{msn: msn, part: part, joined: first}
		var wg sync.WaitGroup
		if p.part != nil && pl.hint != "" && p.c.take() {
			hint := pl.hint
			wg.Go(func() { p.fetchPart(ctx, hint, &cy) })
		}
		if !p.c.take() {
			wg.Wait()
			return
		}
		p.body.Reset()
		ex, err := p.pl.get(p.reloadTarget(msn, part), p.deadline(), &p.body, p.buf)
		wg.Wait()
		if p.failed(ctx, "playlist", ex, err) {
			p.lost(ctx)
			return
		}
		next, err := scanPlaylist(p.body.Bytes())
		if err != nil {
			p.fail(ctx, "playlist", "bad", err)
			p.lost(ctx)
			return
		}
		if !next.lists(msn, part) {
			p.fail(ctx, "playlist", "stale", fmt.Errorf("%w: %s answered (%s) with a playlist whose next part is %d.%d",
				errStale, p.reloadTarget(msn, part), ex.cacheInfo, next.lastMSN+1, next.tail))
			p.lost(ctx)
			return
		}
		cy.plSent, cy.plDone = ex.sent.UnixNano(), ex.done.UnixNano()
		p.cycles = append(p.cycles, cy)
		if pps := next.partsPerSegment(); pps > 0 {
			nm, np := next.next()
			p.skipped += max(0, (nm*pps+np)-(msn*pps+part)-1)
		}
		pl = next
	}
}

// lost counts a cycle the player lost to an error (a stall: it loads the
// playlist again after Retry).
func (p *player) lost(ctx context.Context) {
	if ctx.Err() == nil && time.Now().Before(p.c.end) {
		p.stalls++
	}
}

// reloadTarget is the blocking reload of part part of segment msn.
func (p *player) reloadTarget(msn, part int64) string {
	b := make([]byte, 0, len(p.playlistPath)+48)
	b = append(b, p.playlistPath...)
	b = append(b, "?_HLS_msn="...)
	b = strconv.AppendInt(b, msn, 10)
	b = append(b, "&_HLS_part="...)
	b = strconv.AppendInt(b, part, 10)
	if p.c.cfg.Skip {
		b = append(b, "&_HLS_skip=YES"...)
	}
	return string(b)
}

// fetchPart fetches and verifies the hinted part, recording its times in
// cy when it arrives whole and correct.
func (p *player) fetchPart(ctx context.Context, hint string, cy *cycle) {
	ref, err := url.Parse(hint)
	if err != nil {
		p.fail(ctx, "part", "bad hint", err)
		return
	}
	u := p.dir.ResolveReference(ref)
	rel := strings.TrimPrefix(u.Path, p.base.Path) // the body is keyed by the path below the event root
	p.turns++
	v := newBodyCheck(rel, p.c.cfg.VerifyEvery <= 1 || p.turns%p.c.cfg.VerifyEvery == 0)
	ex, err := p.part.get(u.RequestURI(), p.deadline(), v, p.partBuf)
	if p.failed(ctx, "part", ex, err) {
		return
	}
	p.c.bytes.Add(ex.bytes)
	if !v.OK() {
		p.c.mismatch.Add(1)
		p.c.noteError(fmt.Sprintf("part %s: body mismatch after %d bytes", rel, v.Written()))
		return
	}
	cy.partSent, cy.partFirst, cy.partDone = ex.sent.UnixNano(), ex.first.UnixNano(), ex.done.UnixNano()
}

// failed counts a transport error or a status other than 200 of what and
// reports whether there was one.
func (p *player) failed(ctx context.Context, what string, ex exchange, err error) bool {
	switch {
	case err != nil:
		kind := "transport"
		if isTimeout(err) {
			kind = "timeout"
		}
		p.fail(ctx, what, kind, err)
		return true
	case ex.status != 200:
		p.fail(ctx, what, strconv.Itoa(ex.status),
			fmt.Errorf("status %d: %s", ex.status, strings.TrimSpace(ex.errBody.String())))
		return true
	}
	return false
}

// fail counts a failed request by kind, unless the run is over and cut it
// short.
func (p *player) fail(ctx context.Context, what, kind string, err error) {
	if ctx.Err() != nil || !time.Now().Before(p.c.end) {
		p.c.cancelled.Add(1)
		return
	}
	p.c.countError(what+" "+kind, fmt.Sprintf("%s: %v", what, err))
}

// sleep waits d or until ctx ends, reporting whether ctx is still live.
func sleep(ctx context.Context, d time.Duration) bool {
	if d <= 0 {
		return ctx.Err() == nil
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
		return false
	}
}
