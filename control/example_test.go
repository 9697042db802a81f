package control_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"time"

	"github.com/ringside-live/ringside/control"
)

// A single voter: bootstrap, write an event, read it back.
func Example() {
	dir, _ := os.MkdirTemp("", "control-example")
	defer os.RemoveAll(dir)

	cfg := control.DefaultConfig()
	cfg.NodeID, cfg.DataDir, cfg.RaftAddr = "n1", dir, "127.0.0.1:0"
	cfg.Bootstrap = []control.Peer{{ID: "n1"}} // Addr "" = this node's own address
	cfg.Profile = control.ProfileTest
	s, err := control.New(cfg)
	if err != nil {
		panic(err)
	}
	ctx, stop := context.WithCancel(context.Background())
	done := make(chan error)
	go func() { done <- s.Run(ctx) }()
	defer func() { stop(); <-done }()
	<-s.Ready()
	for !s.IsLeader() {
		time.Sleep(10 * time.Millisecond)
	}

	put, _ := control.NewCommand(control.CmdPutEvent, control.Event{
		ID: "fight", Title: "Fight night", StreamKeys: []string{"0123456789abcdef"},
		DVRWindow: control.Duration(30 * time.Minute),
	})
	put.IdempotencyKey, put.Actor = "req-1", "ops@example.com"
	res, err := s.Apply(ctx, put)
	fmt.Println(res.Version, res.Doc.Events["fight"].State, err)

	res, _ = s.Apply(ctx, put) // a retry
	fmt.Println(res.Version, res.Duplicate)

	live, _ := control.NewCommand(control.CmdSetEventState, control.EventStateArgs{ID: "fight", State: control.StateLive})
	live.Expect = 1 // If-Match
	res, _ = s.Apply(ctx, live)
	fmt.Println(res.Version, s.Current().Events["fight"].State)

	_, err = s.Apply(ctx, live) // stale Expect
	fmt.Println(errors.Is(err, control.ErrConflict))

	bad, _ := control.NewCommand(control.CmdPutEvent, control.Event{ID: "final", PullURL: "ftp://origin/"})
	_, err = s.Apply(ctx, bad)
	var ve *control.ValidationError
	if errors.As(err, &ve) {
		fmt.Println(ve.Errs[0].Field)
	}
	for _, c := range s.History(2) {
		fmt.Println(c.Version, c.Summary)
	}
	// Output:
	// 1 scheduled <nil>
	// 1 true
	// 2 live
	// true
	// events[final].pull_url
	// 2 event fight: scheduled -> live
	// 1 created event fight (scheduled)
}
