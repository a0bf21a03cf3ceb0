// Command hub is the AIGNE Hub gateway: one binary that serves the API
// (`hub serve`, the default) and administers it (`hub keys …`,
// `hub validate`, `hub version`).
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"
)

// version is set at build time with -ldflags "-X main.version=…".
var version = "dev"

type command struct {
	name, usage string
	run         func(ctx context.Context, args []string, stdout, stderr io.Writer) error
}

var commands = []command{
	{"serve", "serve [-config FILE]            run the gateway (the default)", runServe},
	{"keys", "keys create|list|revoke …        manage API keys", runKeys},
	{"validate", "validate [-config FILE]         check a config file without starting anything", runValidate},
	{"version", "version                         print the version", runVersion},
}

func main() {
	os.Exit(run(context.Background(), os.Args[1:], os.Stdout, os.Stderr))
}

// errUsage means the arguments were wrong; the usage has been printed.
var errUsage = errors.New("usage")

func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	name := "serve"
	if len(args) > 0 && !strings.HasPrefix(args[0], "-") {
		name, args = args[0], args[1:]
	}
	if name == "help" || name == "-h" || name == "--help" {
		usage(stdout)
		return 0
	}
	for _, c := range commands {
		if c.name == name {
			if err := c.run(ctx, args, stdout, stderr); err != nil {
				if errors.Is(err, flag.ErrHelp) {
					return 0
				}
				if !errors.Is(err, errUsage) {
					fmt.Fprintf(stderr, "hub %s: %v\n", name, err)
				}
				return 1
			}
			return 0
		}
	}
	fmt.Fprintf(stderr, "hub: unknown command %q\n", name)
	usage(stderr)
	return 2
}

func usage(w io.Writer) {
	fmt.Fprintln(w, "usage: hub <command> [flags]")
	fmt.Fprintln(w)
	for _, c := range commands {
		fmt.Fprintln(w, "  hub "+c.usage)
	}
}

// newFlags returns a flag set that prints its errors to stderr.
func newFlags(name string, stderr io.Writer) *flag.FlagSet {
	fs := flag.NewFlagSet("hub "+name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	return fs
}

// configFlag registers -config, defaulting to $HUB_CONFIG or hub.toml.
func configFlag(fs *flag.FlagSet) *string {
	def := os.Getenv("HUB_CONFIG")
	if def == "" {
		def = "hub.toml"
	}
	return fs.String("config", def, "config `file`")
}

// parseArgs parses flags wherever they appear among the positional
// arguments (`hub keys revoke alice -config x.toml`) and returns the
// positional ones.
func parseArgs(fs *flag.FlagSet, args []string) ([]string, error) {
	var pos []string
	for {
		if err := fs.Parse(args); err != nil {
			return nil, err
		}
		if fs.NArg() == 0 {
			return pos, nil
		}
		pos = append(pos, fs.Arg(0))
		args = fs.Args()[1:]
	}
}
