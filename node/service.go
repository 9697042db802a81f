package node

import (
	"context"
	"fmt"
	"log/slog"
	"sync"
)

// startService runs one component's Run in the node's wait group and
// waits until it is ready or failed to start. A failure after the start
// is logged (the component's own error ends only that component).
func startService(ctx context.Context, wg *sync.WaitGroup, log *slog.Logger, name string,
	run func(context.Context) error, ready <-chan struct{}) error {
	errc := make(chan error, 1)
	wg.Add(1)
	go func() {
		defer wg.Done()
		if err := run(ctx); err != nil && ctx.Err() == nil {
			log.Error(name+" stopped", "err", err)
			errc <- err
		}
	}()
	select {
	case <-ready:
		return nil
	case err := <-errc:
		return fmt.Errorf("node: %s: %w", name, err)
	}
}
