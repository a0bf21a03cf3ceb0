// Command hub is the AIGNE Hub gateway: one binary that serves the API
// (`hub serve`, the default) and administers it.
//
// # Administration
//
// The admin commands — `hub providers`, `hub credentials`, `hub keys`,
// `hub accounts`, `hub rates`, `hub credits`, `hub ledger`, `hub usage`,
// `hub calls` and `hub audit` — open the hub's database in
// the data dir of the config file (-config FILE, default $HUB_CONFIG or
// hub.toml) and change it through host/manage, the implementation the
// admin REST API uses too: the same validation, defaults and audit trail.
// Every change is written to the audit log as "cli:USER" (the operating
// system user running the command). They work whether or not a hub is
// running: a running hub picks their changes up by itself within about a
// second (it polls the database's version counters), so nothing needs
// restarting.
//
// Credits are decimal amounts on the command line ("12.5", at most six
// decimals, read exactly) and int64 micro-credits in the database. `hub
// credits grant` writes straight to the database, audited, and a running
// hub picks the new balance up within a second. An account created by a
// command gets the config's [billing] new_account_grant. `hub ledger
// verify` exits 1 when the ledger is inconsistent, so that it can run from
// cron or a health check.
//
// A credential's secret is write-only: `--secret-env NAME` stores a
// reference to the hub's environment variable NAME, and `--secret-stdin`
// reads a literal secret from standard input (never from a flag, which
// would leak into shell history and the process list) and stores it
// encrypted under the master key (HUB_MASTER_KEY, or DATA_DIR/master.key).
// No command prints a secret, only its masked hint.
//
// The commands that need the running hub's live state — `hub plugins`
// (the loaded plugins; `hub plugins reload|rollback NAME` hot-swaps one),
// `hub state` (provider and credential health) and
// `hub credentials test` (a live upstream call) — call its admin API at
// --hub URL (default: the config's listen address) with the admin key in
// $HUB_ADMIN_KEY.
//
// `hub plugin new|build|test` is for plugin authors and needs no hub: it
// scaffolds a provider or billing plugin (its own module on the SDK, with
// native tests and conformance fixtures), builds one to .wasm, and runs the
// conformance kit (host/conformance) on a module, exiting 1 when a check
// fails. docs/plugin-tutorial.md walks through it.
//
// Output is a human table by default and JSON with -json. The exit status
// is 0 on success, 1 on failure and 2 for a usage error.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"
	"text/tabwriter"
)

// version is set at build time with -ldflags "-X main.version=…".
var version = "dev"

type command struct {
	name     string
	synopsis string // after "hub "
	summary  string
	run      func(ctx context.Context, args []string, stdout, stderr io.Writer) error
}

var commands = []command{
	{"serve", "serve [-config FILE]", "run the gateway (the default)", runServe},
	{"providers", "providers list|show|add|set|remove", "manage upstream providers", providersGroup.run},
	{"credentials", "credentials list|add|set|remove|test", "manage provider credentials (secrets are write-only)", credentialsGroup.run},
	{"", "credentials rotate-master-key", "re-encrypt every stored secret under a new master key", nil},
	{"keys", "keys create|list|show|set|revoke", "manage API keys, their limits and allowed models", keysGroup.run},
	{"accounts", "accounts list|create|rename", "manage the accounts that own keys", accountsGroup.run},
	{"rates", "rates list|set|remove", "manage per-model rates", ratesGroup.run},
	{"credits", "credits grant|adjust|balance", "grant and adjust accounts' credits, show balances", creditsGroup.run},
	{"ledger", "ledger verify|show", "check the credit ledger (exit 1 on a problem), show an account's entries", ledgerGroup.run},
	{"usage", "usage [--since D] [--group-by model,…] [--csv]", "show usage statistics", runUsage},
	{"calls", "calls export|show", "export the call log (CSV or JSON), show one call with its attempts", callsGroup.run},
	{"audit", "audit [--since D] [--action A]", "show the audit log", runAudit},
	{"plugins", "plugins list|reload|rollback [--hub URL]", "list the running hub's plugins, hot-reload or roll one back", runPlugins},
	{"plugin", "plugin new|build|test", "write a plugin: scaffold, build to .wasm, run the conformance kit", runPlugin},
	{"state", "state [--hub URL]", "show the running hub's provider and credential health", runState},
	{"validate", "validate [-config FILE]", "check a config file without starting anything", runValidate},
	{"version", "version", "print the version", runVersion},
}

func main() {
	os.Exit(run(context.Background(), os.Args[1:], os.Stdout, os.Stderr))
}

// errUsage means the arguments were wrong; the usage has been printed.
var errUsage = errors.New("usage")

// An opError is the failure of a sub-command, such as "providers add",
// which it names.
type opError struct {
	op  string
	err error
}

func (e *opError) Error() string { return e.op + ": " + e.err.Error() }
func (e *opError) Unwrap() error { return e.err }

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
		if c.name != name || c.run == nil {
			continue
		}
		err := c.run(ctx, args, stdout, stderr)
		var op *opError
		switch {
		case err == nil, errors.Is(err, flag.ErrHelp):
			return 0
		case errors.Is(err, errUsage):
			return 2
		case errors.As(err, &op):
			fmt.Fprintf(stderr, "hub %v\n", err)
		default:
			fmt.Fprintf(stderr, "hub %s: %v\n", name, err)
		}
		return 1
	}
	fmt.Fprintf(stderr, "hub: unknown command %q\n", name)
	usage(stderr)
	return 2
}

func usage(w io.Writer) {
	fmt.Fprintln(w, "usage: hub <command> [flags]")
	fmt.Fprintln(w)
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	for _, c := range commands {
		fmt.Fprintf(tw, "  hub %s\t%s\n", c.synopsis, c.summary)
	}
	tw.Flush()
	fmt.Fprintln(w)
	fmt.Fprintln(w, "Run hub <command> with no arguments or -h for its usage. The admin commands")
	fmt.Fprintln(w, "change the database of the config's data dir; a running hub picks their")
	fmt.Fprintln(w, "changes up by itself within about a second.")
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
// positional ones. A bad flag is a usage error (the flag package has
// printed it); -h is flag.ErrHelp.
func parseArgs(fs *flag.FlagSet, args []string) ([]string, error) {
	var pos []string
	for {
		if err := fs.Parse(args); err != nil {
			if errors.Is(err, flag.ErrHelp) {
				return nil, err
			}
			return nil, errUsage
		}
		if fs.NArg() == 0 {
			return pos, nil
		}
		pos = append(pos, fs.Arg(0))
		args = fs.Args()[1:]
	}
}
