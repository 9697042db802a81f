package route

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"

	"github.com/ringside-live/ringside/pkg/object"
)

// FillPrefix is the internal route that takes a pushed segment:
// PUT {FillPrefix}{event}/{path}.
const FillPrefix = "/internal/v1/fill/"

// Fill implements ingest.Filler: it pushes a new segment to the key's
// shield owners (other than this node) before its playlist is published,
// so the first player request after the update is a hit there.
func (f *Fetcher) Fill(ctx context.Context, event, path string, o *object.Object) error {
	t := f.deps.Table()
	if t == nil {
		return nil
	}
	key := "/live/" + event + "/" + path
	ctx, cancel := context.WithTimeout(ctx, f.cfg.FillTimeout)
	defer cancel()
	var errs []error
	for _, id := range t.Owners(key) {
		if id == t.self || t.addr[id] == "" {
			continue
		}
		err := f.fillOne(ctx, t.addr[id], event+"/"+path, o)
		if err != nil {
			errs = append(errs, fmt.Errorf("route: fill %s on %s: %w", key, id, err))
		}
		f.m.fills.WithLabelValues(resultLabel(err == nil)).Inc()
	}
	return errors.Join(errs...)
}

func (f *Fetcher) fillOne(ctx context.Context, addr, rest string, o *object.Object) error {
	body := io.Reader(o.NewReader(ctx, nil))
	req, err := http.NewRequestWithContext(ctx, http.MethodPut, f.cfg.PeerScheme+"://"+addr+FillPrefix+rest, body)
	if err != nil {
		return err
	}
	req.Header.Set(HopHeader, f.cfg.NodeID)
	resp, err := f.deps.Peer.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	io.Copy(io.Discard, io.LimitReader(resp.Body, 4096))
	if resp.StatusCode/100 != 2 {
		return fmt.Errorf("status %d", resp.StatusCode)
	}
	return nil
}
