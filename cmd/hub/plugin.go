package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"

	"github.com/aignehub/hub/host/conformance"
	"github.com/aignehub/hub/host/scaffold"
	"github.com/aignehub/hub/runtime"
)

// pluginUsage is the usage of `hub plugin`, the plugin author's commands.
const pluginUsage = `usage:
  hub plugin new provider|billing NAME [-dir DIR] [-sdk PATH] [-module PATH]
  hub plugin build DIR [-o FILE]
  hub plugin test FILE.wasm [-fixtures DIR] [-config JSON] [-calls N] [-update] [-json]

new scaffolds a plugin in DIR (default ./NAME): its own go.mod on the SDK
(github.com/aignehub/hub/sdk; -sdk PATH adds a replace to a local SDK, by
default the sdk/ of the hub source tree the command runs in, if any), the
plugin, native tests, conformance fixtures and a README. It builds and passes
its tests as generated.

build compiles DIR for the hub: GOOS=wasip1 GOARCH=wasm go build -trimpath
-buildmode=c-shared -ldflags="-s -w", to -o FILE (default DIR/NAME.wasm, NAME
the directory's name). It needs Go 1.26 on PATH (or $GO).

test runs the conformance kit on the module, as the hub runs it: load and
validation, the manifest, the fixture cases against their want.json, stream
splits at adversarial boundaries, determinism, flat memory over -calls calls,
the deadline and the memory limit. The fixtures default to
testdata/conformance next to FILE. -update writes each case's want.json from
the plugin's answers (review them). It prints one line per check and exits 1
when any check fails, 2 on a usage error.`

// runPlugin is `hub plugin`.
func runPlugin(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		fmt.Fprintln(stderr, pluginUsage)
		return errUsage
	}
	if a := args[0]; a == "-h" || a == "--help" || a == "help" {
		fmt.Fprintln(stdout, pluginUsage)
		return nil
	}
	subs := map[string]func(ctx context.Context, fs *flag.FlagSet, args []string, stdout, stderr io.Writer) error{
		"new":   pluginNew,
		"build": pluginBuild,
		"test":  pluginTest,
	}
	f, ok := subs[args[0]]
	if !ok {
		fmt.Fprintf(stderr, "hub plugin: unknown sub-command %q\n", args[0])
		fmt.Fprintln(stderr, pluginUsage)
		return errUsage
	}
	name := "plugin " + args[0]
	fs := newFlags(name, stderr)
	fs.Usage = func() {
		fmt.Fprintln(stderr, pluginUsage)
		fmt.Fprintf(stderr, "\nflags of hub %s:\n", name)
		fs.PrintDefaults()
	}
	err := f(ctx, fs, args[1:], stdout, stderr)
	if err == nil || errors.Is(err, errUsage) || errors.Is(err, flag.ErrHelp) {
		return err
	}
	return &opError{op: name, err: err}
}

// pluginUsageErr prints a usage problem and returns errUsage.
func pluginUsageErr(stderr io.Writer, name, format string, args ...any) error {
	fmt.Fprintf(stderr, "hub plugin %s: %s\n", name, fmt.Sprintf(format, args...))
	fmt.Fprintln(stderr, pluginUsage)
	return errUsage
}

func pluginNew(ctx context.Context, fs *flag.FlagSet, args []string, stdout, stderr io.Writer) error {
	dir := fs.String("dir", "", "the `directory` to create (default ./NAME); it must not exist or be empty")
	sdk := fs.String("sdk", "", "a local SDK `path` to replace github.com/aignehub/hub/sdk with (default: the sdk/ of the hub source tree around the working directory, if any; \"none\" for the public module)")
	module := fs.String("module", "", "the plugin's Go module `path` (default example.com/NAME)")
	pos, err := parseArgs(fs, args)
	if err != nil {
		return err
	}
	if len(pos) != 2 {
		return pluginUsageErr(stderr, "new", "want provider|billing NAME")
	}
	kind, name := pos[0], pos[1]
	if *dir == "" {
		*dir = name
	}
	sdkPath := *sdk
	switch sdkPath {
	case "":
		sdkPath = findSDK()
	case "none":
		sdkPath = ""
	}
	opts := scaffold.Options{Kind: kind, Name: name, Dir: *dir, SDK: sdkPath, Module: *module}
	if err := opts.Check(); err != nil {
		return pluginUsageErr(stderr, "new", "%v", err)
	}
	files, err := scaffold.Generate(opts)
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "created %s %q in %s:\n", kind, name, *dir)
	for _, f := range files {
		fmt.Fprintf(stdout, "  %s\n", filepath.Join(*dir, f))
	}
	if sdkPath != "" {
		fmt.Fprintf(stdout, "the SDK comes from %s (a replace in go.mod)\n", sdkPath)
	}
	fmt.Fprintf(stdout, "next: cd %s && go test ./... && hub plugin build . && hub plugin test %s.wasm\n", *dir, name)
	return nil
}

// findSDK returns the sdk/ directory of the hub source tree that contains
// the working directory, or "" when there is none.
func findSDK() string {
	dir, err := os.Getwd()
	if err != nil {
		return ""
	}
	for {
		if b, err := os.ReadFile(filepath.Join(dir, "sdk", "go.mod")); err == nil && strings.Contains(string(b), "module github.com/aignehub/hub/sdk\n") {
			return filepath.Join(dir, "sdk")
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return ""
		}
		dir = parent
	}
}

func pluginBuild(ctx context.Context, fs *flag.FlagSet, args []string, stdout, stderr io.Writer) error {
	out := fs.String("o", "", "the output `file` (default DIR/NAME.wasm)")
	pos, err := parseArgs(fs, args)
	if err != nil {
		return err
	}
	if len(pos) != 1 {
		return pluginUsageErr(stderr, "build", "want DIR")
	}
	file, err := buildPlugin(ctx, pos[0], *out, stderr)
	if err != nil {
		return err
	}
	st, err := os.Stat(file)
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "built %s (%d bytes)\n", file, st.Size())
	return nil
}

// buildPlugin builds the Go plugin in dir to out (default dir/NAME.wasm)
// with the flags the hub's own plugins are built with, and returns out.
// The go command's output goes to stderr.
func buildPlugin(ctx context.Context, dir, out string, stderr io.Writer) (string, error) {
	abs, err := filepath.Abs(dir)
	if err != nil {
		return "", err
	}
	if st, err := os.Stat(abs); err != nil {
		return "", err
	} else if !st.IsDir() {
		return "", fmt.Errorf("%s is not a directory", dir)
	}
	if out == "" {
		out = filepath.Join(dir, filepath.Base(abs)+".wasm")
	}
	outAbs, err := filepath.Abs(out)
	if err != nil {
		return "", err
	}
	goBin := os.Getenv("GO")
	if goBin == "" {
		goBin = "go"
	}
	path, err := exec.LookPath(goBin)
	if err != nil {
		return "", fmt.Errorf("the Go toolchain (%q) is not on PATH: install Go 1.26 or later from https://go.dev/dl/ (or set $GO): %w", goBin, err)
	}
	cmd := exec.CommandContext(ctx, path, "build", "-trimpath", "-buildmode=c-shared", `-ldflags=-s -w`, "-o", outAbs, ".")
	cmd.Dir = abs
	cmd.Env = append(os.Environ(), "GOOS=wasip1", "GOARCH=wasm")
	cmd.Stdout, cmd.Stderr = stderr, stderr
	if err := cmd.Run(); err != nil {
		return "", fmt.Errorf("GOOS=wasip1 GOARCH=wasm go build in %s failed (its output is above): %w", dir, err)
	}
	return out, nil
}

func pluginTest(ctx context.Context, fs *flag.FlagSet, args []string, stdout, stderr io.Writer) error {
	fixtures := fs.String("fixtures", "", "the fixtures `directory` (default testdata/conformance next to FILE)")
	config := fs.String("config", "", "the plugin's config as a `JSON` object ([plugins.NAME.config]); default {}")
	calls := fs.Int("calls", conformance.DefaultCalls, "calls of the memory check")
	limit := fs.Uint64("memory-limit", conformance.DefaultMemoryLimit, "the memory-limit check's limit in `bytes`")
	update := fs.Bool("update", false, "write each case's want.json from the plugin's answers instead of comparing")
	asJSON := fs.Bool("json", false, "print the report as JSON")
	pos, err := parseArgs(fs, args)
	if err != nil {
		return err
	}
	if len(pos) != 1 {
		return pluginUsageErr(stderr, "test", "want FILE.wasm")
	}
	if *calls < 1 {
		return pluginUsageErr(stderr, "test", "-calls must be at least 1")
	}
	if *limit < 1<<16 {
		return pluginUsageErr(stderr, "test", "-memory-limit must be at least 64KiB")
	}
	var cfg []byte
	if *config != "" {
		cfg = []byte(*config)
		if v, ok := jsonValue(cfg).(map[string]any); !ok || v == nil {
			return pluginUsageErr(stderr, "test", "-config is not a JSON object")
		}
	}
	file := pos[0]
	wasm, err := os.ReadFile(file)
	if err != nil {
		return err
	}
	if *fixtures == "" {
		*fixtures = filepath.Join(filepath.Dir(file), "testdata", "conformance")
	}
	name := strings.TrimSuffix(filepath.Base(file), filepath.Ext(file))
	opts := conformance.Options{Wasm: wasm, Name: name, Fixtures: *fixtures, Config: cfg,
		Calls: *calls, MemoryLimit: *limit, Update: *update}
	// A compilation cache on disk makes the next run of an unchanged
	// module start at once; without one the kit compiles in memory.
	if dir, err := os.UserCacheDir(); err == nil {
		if c, err := runtime.NewCache(filepath.Join(dir, "aignehub", "plugin-test")); err == nil {
			defer c.Close(ctx)
			opts.Cache = c
		}
	}
	rep, err := conformance.Run(ctx, opts)
	if err != nil {
		return err
	}
	if *asJSON {
		err = rep.WriteJSON(stdout)
	} else {
		err = rep.WriteText(stdout)
	}
	if err != nil {
		return err
	}
	if failed := rep.Failed(); len(failed) > 0 {
		return fmt.Errorf("%d of %d checks failed: %s", len(failed), len(rep.Results), strings.Join(failed, ", "))
	}
	return nil
}

// jsonValue decodes b, or returns nil when it is not one JSON value.
func jsonValue(b []byte) any {
	var v any
	if json.Unmarshal(b, &v) != nil {
		return nil
	}
	return v
}
