package main

import (
	"context"
	"errors"
	"flag"
	"io"

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
	n, err := node.New(cfg, node.Deps{Logger: newLogger(stderr, cfg.Log.Level, cfg.Log.Format)})
	if err != nil {
		return err
	}
	return n.Run(ctx)
}
