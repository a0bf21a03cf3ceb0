package main

import (
	"context"
	"fmt"
	"io"
	goruntime "runtime"

	"github.com/aignehub/hub/host/config"
	"github.com/aignehub/hub/sdk/abi"
)

func runValidate(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlags("validate", stderr)
	cfgPath := configFlag(fs)
	pos, err := parseArgs(fs, args)
	if err != nil {
		return err
	}
	if len(pos) == 1 { // also accept `hub validate FILE`
		*cfgPath = pos[0]
	}
	cfg, err := config.Load(*cfgPath)
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "%s: ok (%d providers, %d plugins)\n", *cfgPath, len(cfg.Providers), len(cfg.Plugins))
	return nil
}

func runVersion(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fmt.Fprintf(stdout, "hub %s (%s, plugin ABI v%d)\n", version, goruntime.Version(), abi.Version)
	return nil
}
