package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/user"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/aignehub/hub/host/app"
	"github.com/aignehub/hub/host/config"
	"github.com/aignehub/hub/host/manage"
	"github.com/aignehub/hub/host/secrets"
	"github.com/aignehub/hub/store"
)

// reachNote tells how CLI changes reach a running hub; every admin
// command's usage ends with it.
const reachNote = `All take -config FILE (default $HUB_CONFIG or hub.toml) to find the data dir,
and -json to print JSON instead of a table. Changes are audited as cli:USER and
reach a running hub by themselves within about a second (it polls the database).`

// A subcmd is one run of a sub-command such as "providers add": its flag
// set (with -config and -json), output streams and the usage of its group.
type subcmd struct {
	name           string // "providers add"
	usage          string // the group's usage
	stdout, stderr io.Writer
	fs             *flag.FlagSet
	config         *string
	json           *bool
}

func newSubcmd(name, usage string, stdout, stderr io.Writer) *subcmd {
	fs := newFlags(name, stderr)
	c := &subcmd{name: name, usage: usage, stdout: stdout, stderr: stderr, fs: fs}
	c.config = configFlag(fs)
	c.json = fs.Bool("json", false, "print JSON instead of a table")
	fs.Usage = func() {
		fmt.Fprintln(stderr, usage)
		fmt.Fprintf(stderr, "\nflags of hub %s:\n", name)
		fs.PrintDefaults()
	}
	return c
}

// A group is a command with sub-commands, like `hub providers`.
type group struct {
	name  string
	usage string
	subs  map[string]func(ctx context.Context, c *subcmd, args []string) error
}

func (g group) run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		fmt.Fprintln(stderr, g.usage)
		return errUsage
	}
	if a := args[0]; a == "-h" || a == "--help" || a == "help" {
		fmt.Fprintln(stdout, g.usage)
		return nil
	}
	f, ok := g.subs[args[0]]
	if !ok {
		fmt.Fprintf(stderr, "hub %s: unknown sub-command %q\n", g.name, args[0])
		fmt.Fprintln(stderr, g.usage)
		return errUsage
	}
	c := newSubcmd(g.name+" "+args[0], g.usage, stdout, stderr)
	return c.fail(f(ctx, c, args[1:]))
}

// parse parses args and checks that exactly the positional arguments
// named by want are there.
func (c *subcmd) parse(args []string, want ...string) ([]string, error) {
	pos, err := parseArgs(c.fs, args)
	if err != nil {
		return nil, err
	}
	if len(pos) != len(want) {
		if len(want) == 0 {
			return nil, c.usageErr("unexpected argument %q", pos[0])
		}
		return nil, c.usageErr("want %s", strings.Join(want, " "))
	}
	return pos, nil
}

// usageErr prints a usage problem and the group's usage, and returns
// errUsage.
func (c *subcmd) usageErr(format string, args ...any) error {
	fmt.Fprintf(c.stderr, "hub %s: %s\n", c.name, fmt.Sprintf(format, args...))
	fmt.Fprintln(c.stderr, c.usage)
	return errUsage
}

// fail names the sub-command in err.
func (c *subcmd) fail(err error) error {
	if err == nil || errors.Is(err, errUsage) || errors.Is(err, flag.ErrHelp) {
		return err
	}
	return &opError{op: c.name, err: err}
}

// runAlone runs a command without sub-commands, like `hub usage`: help,
// -h or --help as the first argument print its usage; otherwise run gets
// a subcmd named name.
func runAlone(ctx context.Context, name, usage string, args []string, stdout, stderr io.Writer,
	run func(ctx context.Context, c *subcmd, args []string) error) error {
	if len(args) > 0 && (args[0] == "help" || args[0] == "-h" || args[0] == "--help") {
		fmt.Fprintln(stdout, usage)
		return nil
	}
	c := newSubcmd(name, usage, stdout, stderr)
	return c.fail(run(ctx, c, args))
}

// given returns the names of the flags set on the command line.
func (c *subcmd) given() map[string]bool {
	m := map[string]bool{}
	c.fs.Visit(func(f *flag.Flag) { m[f.Name] = true })
	return m
}

// output prints v as JSON with -json, else the table that table writes.
func (c *subcmd) output(v any, table func(w io.Writer)) error {
	if *c.json {
		return writeJSON(c.stdout, v)
	}
	tw := tabwriter.NewWriter(c.stdout, 0, 4, 2, ' ', 0)
	table(tw)
	return tw.Flush()
}

// say prints v as JSON with -json, else the text format makes.
func (c *subcmd) say(v any, format string, args ...any) error {
	if *c.json {
		return writeJSON(c.stdout, v)
	}
	fmt.Fprintf(c.stdout, format, args...)
	return nil
}

func writeJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

// An adminEnv is the database of the config's data dir and the
// operations on it.
type adminEnv struct {
	cfg *config.Config
	st  *store.Store
	svc *manage.Service
}

func (e *adminEnv) Close() { e.st.Close() }

// open loads the config, opens the store (and, with keyring, the master
// keyring, which literal secrets need) and returns the service, with ctx
// carrying the CLI's audit actor.
func (c *subcmd) open(ctx context.Context, keyring bool) (context.Context, *adminEnv, error) {
	cfg, err := config.Load(*c.config)
	if err != nil {
		return nil, nil, err
	}
	st, err := app.OpenStore(ctx, cfg)
	if err != nil {
		return nil, nil, err
	}
	// Grants go to the store directly (no Granter): a running hub notices
	// them within a second.
	opts := manage.Options{Store: st, Config: cfg, NewAccountGrant: cfg.Billing.NewAccountGrant.Micro()}
	if keyring {
		if opts.Keyring, err = loadKeyring(ctx, cfg, st, c.stderr); err != nil {
			st.Close()
			return nil, nil, err
		}
	}
	return store.WithActor(ctx, cliActor()), &adminEnv{cfg: cfg, st: st, svc: manage.New(opts)}, nil
}

// withEnv opens the admin environment (see open), runs fn on it and
// closes it.
func (c *subcmd) withEnv(ctx context.Context, keyring bool, fn func(ctx context.Context, env *adminEnv) error) error {
	ctx, env, err := c.open(ctx, keyring)
	if err != nil {
		return err
	}
	defer env.Close()
	return fn(ctx, env)
}

// query parses args for exactly the positional arguments named by want
// (see parse), then runs fn on the admin environment, without the
// keyring.
func (c *subcmd) query(ctx context.Context, args []string, want []string,
	fn func(ctx context.Context, env *adminEnv, pos []string) error) error {
	pos, err := c.parse(args, want...)
	if err != nil {
		return err
	}
	return c.withEnv(ctx, false, func(ctx context.Context, env *adminEnv) error { return fn(ctx, env, pos) })
}

// loadKeyring loads the master keyring the way the hub does. It refuses
// while a rotation is pending (settling one is the hub's start-up job or
// the rotation command's), and warns when stored secrets are under a key
// it lacks: that usually means the hub runs with another HUB_MASTER_KEY
// than this command, and a secret sealed here would not open there.
func loadKeyring(ctx context.Context, cfg *config.Config, st *store.Store, stderr io.Writer) (*secrets.Keyring, error) {
	kr, err := secrets.Load(cfg.DataDir, os.LookupEnv)
	if err != nil {
		return nil, fmt.Errorf("master key: %w", err)
	}
	if kr.RotationPending() {
		return nil, fmt.Errorf("master key: a rotation is pending (%s.next exists): run `hub credentials rotate-master-key` to finish it first", secrets.KeyFile)
	}
	creds, err := st.ListAllCredentials(ctx)
	if err != nil {
		return nil, err
	}
	unknown := 0
	for _, cr := range creds {
		if id, ok := secrets.KeyIDOf(cr.Ciphertext); ok && !kr.Known(id) {
			unknown++
		}
	}
	if unknown > 0 {
		fmt.Fprintf(stderr, "warning: %d stored secrets are encrypted under a master key other than this command's (%s); "+
			"run it with the hub's %s, or the hub will not be able to decrypt what it stores\n", unknown, kr.Source(), secrets.EnvMasterKey)
	}
	return kr, nil
}

// cliActor is who the audit log says made the CLI's changes:
// "cli:USER", the operating system user.
func cliActor() store.Actor {
	name := ""
	if u, err := user.Current(); err == nil {
		name = u.Username
	}
	if name == "" {
		name = os.Getenv("USER")
	}
	if name == "" {
		name = "unknown"
	}
	return store.Actor{Name: "cli:" + name}
}

// stdin is where --secret-stdin reads a secret; tests replace it.
var stdin io.Reader = os.Stdin

// maxStdinSecret bounds what --secret-stdin reads; the service rejects
// secrets longer than 8 KiB with a clear message.
const maxStdinSecret = 64 << 10

// readSecret reads a literal secret from stdin: one line from a terminal
// (it echoes: piping is better), else everything, without one trailing
// line break.
func readSecret(stderr io.Writer) (string, error) {
	var s string
	if f, ok := stdin.(*os.File); ok && isTerminal(f) {
		fmt.Fprint(stderr, "secret (typing echoes; prefer a pipe), then Enter: ")
		line, err := bufio.NewReader(f).ReadString('\n')
		if err != nil && !errors.Is(err, io.EOF) {
			return "", fmt.Errorf("--secret-stdin: %w", err)
		}
		s = line
	} else {
		b, err := io.ReadAll(io.LimitReader(stdin, maxStdinSecret))
		if err != nil {
			return "", fmt.Errorf("--secret-stdin: %w", err)
		}
		s = string(b)
	}
	s = strings.TrimSuffix(s, "\n")
	s = strings.TrimSuffix(s, "\r")
	if s == "" {
		return "", errors.New("--secret-stdin: standard input held no secret")
	}
	return s, nil
}

func isTerminal(f *os.File) bool {
	fi, err := f.Stat()
	return err == nil && fi.Mode()&os.ModeCharDevice != 0
}

// secretFlags registers --secret-env and --secret-stdin.
type secretFlags struct {
	env   *string
	stdin *bool
}

func addSecretFlags(fs *flag.FlagSet) secretFlags {
	return secretFlags{
		env:   fs.String("secret-env", "", "store a reference to the hub's environment variable `NAME` as the secret"),
		stdin: fs.Bool("secret-stdin", false, "read a literal secret from standard input and store it encrypted"),
	}
}

// secret returns the secret the flags give, nil for none.
func (s secretFlags) secret(c *subcmd) (*string, error) {
	switch {
	case *s.env != "" && *s.stdin:
		return nil, c.usageErr("give --secret-env or --secret-stdin, not both")
	case *s.env != "":
		v := "env:" + *s.env
		return &v, nil
	case *s.stdin:
		v, err := readSecret(c.stderr)
		if err != nil {
			return nil, err
		}
		return &v, nil
	}
	return nil, nil
}

// enableFlags registers --enable and --disable.
type enableFlags struct{ enable, disable *bool }

func addEnableFlags(fs *flag.FlagSet, what string) enableFlags {
	return enableFlags{
		enable:  fs.Bool("enable", false, "enable the "+what),
		disable: fs.Bool("disable", false, "disable the "+what),
	}
}

// value returns the state the flags set, nil for none.
func (e enableFlags) value(c *subcmd) (*bool, error) {
	switch {
	case *e.enable && *e.disable:
		return nil, c.usageErr("give --enable or --disable, not both")
	case *e.enable:
		return new(true), nil
	case *e.disable:
		return new(false), nil
	}
	return nil, nil
}

// A stringList is a repeatable string flag.
type stringList []string

func (l *stringList) String() string     { return strings.Join(*l, ",") }
func (l *stringList) Set(v string) error { *l = append(*l, v); return nil }

// intFlag returns a pointer to the value of the int flag name when it was
// given, nil otherwise.
func intFlag(given map[string]bool, name string, v int) *int {
	if !given[name] {
		return nil
	}
	return &v
}

func fmtTime(t time.Time) string {
	if t.IsZero() {
		return "never"
	}
	return t.Local().Format(time.DateTime)
}

func fmtTimePtr(t *time.Time) string {
	if t == nil {
		return "never"
	}
	return fmtTime(*t)
}

func yesNo(b bool) string {
	if b {
		return "yes"
	}
	return "no"
}

// orDash shows an empty string as "-".
func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

// limit shows a limit, 0 meaning unlimited.
func limit(n int) string {
	if n == 0 {
		return "-"
	}
	return fmt.Sprint(n)
}
