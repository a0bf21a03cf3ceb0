package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// needGo returns the go command, skipping the test when it is missing
// (failing it under CI=true).
func needGo(t *testing.T) string {
	t.Helper()
	p, err := exec.LookPath("go")
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("the go command is needed: %v", err)
		}
		t.Skipf("the go command is needed: %v", err)
	}
	return p
}

// repoSDK is the hub's own sdk/ directory.
func repoSDK(t *testing.T) string {
	t.Helper()
	sdk, err := filepath.Abs("../../sdk")
	if err != nil {
		t.Fatal(err)
	}
	return sdk
}

// TestPluginNewBuildTest generates each kind of plugin into a temp dir, and
// checks that it passes its native tests, builds to .wasm and passes the
// conformance kit exactly as generated.
func TestPluginNewBuildTest(t *testing.T) {
	goBin := needGo(t)
	for _, kind := range []string{"provider", "billing"} {
		t.Run(kind, func(t *testing.T) {
			dir := filepath.Join(t.TempDir(), "my-"+kind)
			code, out, errs := hub(t, "plugin", "new", kind, "my-"+kind, "-dir", dir, "-sdk", repoSDK(t))
			if code != 0 {
				t.Fatalf("new: exit %d\n%s%s", code, out, errs)
			}
			for _, f := range []string{"go.mod", "go.sum", "main.go", "README.md", ".gitignore", "testdata/conformance"} {
				if _, err := os.Stat(filepath.Join(dir, f)); err != nil {
					t.Errorf("not generated: %v", err)
				}
			}
			gomod, _ := os.ReadFile(filepath.Join(dir, "go.mod"))
			if !strings.Contains(string(gomod), "module example.com/my-"+kind) || !strings.Contains(string(gomod), "replace github.com/aignehub/hub/sdk => "+filepath.ToSlash(repoSDK(t))) {
				t.Errorf("go.mod:\n%s", gomod)
			}

			cmd := exec.Command(goBin, "vet", "./...")
			cmd.Dir = dir
			if msg, err := cmd.CombinedOutput(); err != nil {
				t.Fatalf("go vet in the generated plugin: %v\n%s", err, msg)
			}
			cmd = exec.Command(goBin, "test", "./...")
			cmd.Dir = dir
			if msg, err := cmd.CombinedOutput(); err != nil {
				t.Fatalf("go test in the generated plugin: %v\n%s", err, msg)
			}
			if code, out, errs = hub(t, "plugin", "build", dir); code != 0 {
				t.Fatalf("build: exit %d\n%s%s", code, out, errs)
			}
			wasm := filepath.Join(dir, "my-"+kind+".wasm")
			if !strings.Contains(out, "built "+wasm) {
				t.Errorf("build said %q", out)
			}
			code, out, errs = hub(t, "plugin", "test", wasm, "-calls", "3000")
			if code != 0 {
				t.Fatalf("plugin test: exit %d\n%s%s", code, out, errs)
			}
			for _, check := range []string{"PASS  load", "PASS  manifest", "PASS  fixture/", "PASS  determinism", "PASS  memory ", "PASS  deadline", "PASS  memory-limit"} {
				if !strings.Contains(out, check) {
					t.Errorf("report lacks %q:\n%s", check, out)
				}
			}
			if kind == "provider" && !strings.Contains(out, "PASS  stream-boundaries") {
				t.Errorf("a provider's streams were not split:\n%s", out)
			}

			// A change to what the plugin answers fails its fixtures, with
			// the difference, until -update records it.
			if kind == "provider" {
				adjust := "package main\n\nimport \"encoding/json\"\n\nfunc adjust(body map[string]json.RawMessage) { body[\"temperature\"] = json.RawMessage(\"0.2\") }\n"
				if err := os.WriteFile(filepath.Join(dir, "adjust.go"), []byte(adjust), 0o644); err != nil {
					t.Fatal(err)
				}
				if code, _, errs = hub(t, "plugin", "build", dir); code != 0 {
					t.Fatalf("rebuild: %s", errs)
				}
				code, out, errs = hub(t, "plugin", "test", wasm, "-calls", "100")
				if code != 1 || !strings.Contains(out, "FAIL  fixture/chat ") || !strings.Contains(out, `"temperature":0.2`) || !strings.Contains(errs, "checks failed: fixture/chat") {
					t.Fatalf("a changed answer: exit %d\n%s%s", code, out, errs)
				}
				if code, out, errs = hub(t, "plugin", "test", "-update", "-calls", "100", wasm); code != 0 {
					t.Fatalf("-update: exit %d\n%s%s", code, out, errs)
				}
				if code, out, _ = hub(t, "plugin", "test", "-json", "-calls", "100", wasm); code != 0 || !strings.Contains(out, `"passed": true`) {
					t.Fatalf("after -update: exit %d\n%s", code, out)
				}
			}
		})
	}
}

func TestPluginUsageErrors(t *testing.T) {
	dir := t.TempDir()
	for _, args := range [][]string{
		{"plugin"},
		{"plugin", "frobnicate"},
		{"plugin", "new", "provider"},
		{"plugin", "new", "widget", "x", "-dir", filepath.Join(dir, "x")},
		{"plugin", "new", "provider", "Bad Name", "-dir", filepath.Join(dir, "y")},
		{"plugin", "build"},
		{"plugin", "test"},
		{"plugin", "test", "x.wasm", "-calls", "0"},
		{"plugin", "test", "x.wasm", "-config", "[1]"},
		{"plugin", "test", "x.wasm", "-nope"},
	} {
		if code, _, errs := hub(t, args...); code != 2 || errs == "" {
			t.Errorf("%v: exit %d, stderr %q; want 2 and a message", args, code, errs)
		}
	}
	if code, out, _ := hub(t, "plugin", "help"); code != 0 || !strings.Contains(out, "hub plugin test FILE.wasm") {
		t.Errorf("help: %d %s", code, out)
	}
}

func TestPluginFailures(t *testing.T) {
	dir := t.TempDir()
	// A directory that is not empty is not overwritten.
	os.WriteFile(filepath.Join(dir, "keep.txt"), []byte("x"), 0o644)
	if code, _, errs := hub(t, "plugin", "new", "provider", "p", "-dir", dir, "-sdk", repoSDK(t)); code != 1 || !strings.Contains(errs, "not empty") {
		t.Errorf("new into a non-empty dir: %d %s", code, errs)
	}
	if code, _, errs := hub(t, "plugin", "test", filepath.Join(dir, "missing.wasm")); code != 1 || !strings.Contains(errs, "missing.wasm") {
		t.Errorf("test of a missing file: %d %s", code, errs)
	}
	// Without Go, build says so.
	t.Setenv("GO", filepath.Join(dir, "no-such-go"))
	if code, _, errs := hub(t, "plugin", "build", dir); code != 1 || !strings.Contains(errs, "the Go toolchain") || !strings.Contains(errs, "not on PATH") {
		t.Errorf("build without Go: %d %s", code, errs)
	}
	t.Setenv("GO", needGo(t))
	// A plugin that does not compile: the compiler's output, then a clear error.
	src := filepath.Join(dir, "bad")
	os.MkdirAll(src, 0o755)
	os.WriteFile(filepath.Join(src, "go.mod"), []byte("module bad\n\ngo 1.26\n"), 0o644)
	os.WriteFile(filepath.Join(src, "main.go"), []byte("package main\n\nfunc main() { undefined() }\n"), 0o644)
	if code, _, errs := hub(t, "plugin", "build", src); code != 1 || !strings.Contains(errs, "undefined") || !strings.Contains(errs, "go build in "+src+" failed") {
		t.Errorf("build of broken source: %d %s", code, errs)
	}
	// A module that is not a plugin fails the load check, exit 1.
	notWasm := filepath.Join(dir, "x.wasm")
	os.WriteFile(notWasm, []byte("\x00asm\x01\x00\x00\x00"), 0o644)
	if code, out, errs := hub(t, "plugin", "test", notWasm); code != 1 || !strings.Contains(out, "FAIL  load") || !strings.Contains(errs, "1 of 1 checks failed: load") {
		t.Errorf("test of a non-plugin: %d\n%s%s", code, out, errs)
	}
}
