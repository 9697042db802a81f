package main

import (
	"context"
	"errors"
	"flag"
	"io"
	"os"
	"os/signal"
	"syscall"

	"github.com/ringside-live/ringside/node"
)

func runNode(ctx context.Context, args []string, stderr io.Writer) error {
	fs := flag.NewFlagSet("node", flag.ContinueOnError)
	fs.SetOutput(stderr)
	cfgPath := fs.String("config", "", "path to the node's YAML configuration")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *cfgPath == "" {
		return errors.New("node: --config FILE is required")
	}
	cfg, err := node.LoadConfig(*cfgPath)
	if err != nil {
		return err
	}
	log := newLogger(stderr, cfg.Log.Level, cfg.Log.Format)
	n, err := node.New(cfg, node.Deps{Logger: log})
	if err != nil {
		return err
	}
	// SIGHUP re-reads the certificate files now (they are also checked
	// every 10 s); bad files keep the current certificate.
	hup := make(chan os.Signal, 1)
	signal.Notify(hup, syscall.SIGHUP)
	defer signal.Stop(hup)
	go func() {
		for {
			select {
			case <-ctx.Done():
				return
			case <-hup:
				if err := n.Reload(); err != nil {
					log.Error("reloading the certificate on SIGHUP", "err", err)
				}
			}
		}
	}()
	return n.Run(ctx)
}
