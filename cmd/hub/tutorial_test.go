package main

import (
	"bufio"
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// A tutorialStep is a shell block of docs/plugin-tutorial.md marked
// "```sh tutorial" (and "exit=N" when it must exit N).
type tutorialStep struct {
	line int
	code string
	exit int
}

func tutorialSteps(t *testing.T, path string) []tutorialStep {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var steps []tutorialStep
	var cur *tutorialStep
	sc := bufio.NewScanner(f)
	for n := 1; sc.Scan(); n++ {
		line := sc.Text()
		switch {
		case cur == nil && strings.HasPrefix(line, "```sh tutorial"):
			cur = &tutorialStep{line: n}
			for _, f := range strings.Fields(strings.TrimPrefix(line, "```sh tutorial")) {
				v, ok := strings.CutPrefix(f, "exit=")
				code, err := strconv.Atoi(v)
				if !ok || err != nil {
					t.Fatalf("%s:%d: unknown step attribute %q", path, n, f)
				}
				cur.exit = code
			}
		case cur != nil && line == "```":
			steps = append(steps, *cur)
			cur = nil
		case cur != nil:
			cur.code += line + "\n"
		}
	}
	if cur != nil {
		t.Fatalf("%s:%d: unterminated step", path, cur.line)
	}
	return steps
}

func freePort(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

// TestTutorial runs the steps of docs/plugin-tutorial.md in order, in one
// shell, in a temp dir, with the real hub and emulator binaries (built from
// this tree) on PATH: scaffold, edit, native tests, build, the conformance
// kit (failing, then updated), a hub.toml, a running hub and emulator, a
// curl call, and a hot reload. The only change to the text is the two
// listen addresses, replaced by free ports.
func TestTutorial(t *testing.T) {
	if testing.Short() {
		t.Skip("-short: the tutorial builds binaries and runs a hub")
	}
	noMasterKeyEnv(t)
	goBin := needGo(t)
	for _, tool := range []string{"bash", "curl", "sed", "grep"} {
		if _, err := exec.LookPath(tool); err != nil {
			if os.Getenv("CI") == "true" {
				t.Fatalf("the tutorial needs %s: %v", tool, err)
			}
			t.Skipf("the tutorial needs %s: %v", tool, err)
		}
	}
	steps := tutorialSteps(t, "../../docs/plugin-tutorial.md")
	var all strings.Builder
	for _, s := range steps {
		all.WriteString(s.code)
	}
	for _, cmd := range []string{"hub plugin new provider acme", "go test ./...", "hub plugin build .", "hub plugin test acme.wasm",
		"hub plugin test -update acme.wasm", "hub serve -config hub.toml", "/v1/chat/completions", "hub plugins reload acme"} {
		if !strings.Contains(all.String(), cmd) {
			t.Fatalf("the tutorial's steps lack %q", cmd)
		}
	}

	root, err := filepath.Abs("../..")
	if err != nil {
		t.Fatal(err)
	}
	bin := t.TempDir()
	for _, c := range []string{"hub", "emulator"} {
		cmd := exec.Command(goBin, "build", "-o", filepath.Join(bin, c), "./cmd/"+c)
		cmd.Dir = root
		if msg, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("build %s: %v\n%s", c, err, msg)
		}
	}

	hubAddr, emuAddr := freePort(t), freePort(t)
	var script strings.Builder
	fmt.Fprintf(&script, "set -euo pipefail\nexport HUB_SRC=%q\ntrap 'kill $(jobs -p) 2>/dev/null || true; wait' EXIT\n", root)
	for i, s := range steps {
		code := strings.NewReplacer("127.0.0.1:8080", hubAddr, "127.0.0.1:8081", emuAddr).Replace(s.code)
		fmt.Fprintf(&script, "echo '=== step %d (plugin-tutorial.md:%d)'\n", i+1, s.line)
		if s.exit == 0 {
			script.WriteString(code)
			continue
		}
		// A step that must fail runs in a subshell whose status is checked.
		fmt.Fprintf(&script, "set +e\n(\n%s)\nrc=$?\nset -e\nif [ $rc -ne %d ]; then echo \"step %d exited $rc, want %d\"; exit 1; fi\n", code, s.exit, i+1, s.exit)
	}

	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	work := t.TempDir()
	cmd := exec.CommandContext(ctx, "bash", "-c", script.String())
	cmd.Dir = work
	cmd.Env = append(os.Environ(), "PATH="+bin+string(os.PathListSeparator)+os.Getenv("PATH"), "HUB_CONFIG=", "HUB_ADMIN_KEY=")
	out, err := cmd.CombinedOutput()
	logs := func() string {
		var b strings.Builder
		for _, f := range []string{"hub.log", "emulator.log"} {
			if l, err := os.ReadFile(filepath.Join(work, f)); err == nil {
				fmt.Fprintf(&b, "\n--- %s\n%s", f, l)
			}
		}
		return b.String()
	}
	if err != nil {
		t.Fatalf("the tutorial failed: %v\n%s%s", err, out, logs())
	}
	for _, want := range []string{
		"FAIL  fixture/chat", `"temperature":0.2`, // the kit caught the change
		`"chat.completion"`, `"finish_reason"`, // curl got a completion through the plugin
		"acme  provider  0.2.0", // the reloaded version is serving
	} {
		if !strings.Contains(string(out), want) {
			t.Errorf("the tutorial's output lacks %q:\n%s%s", want, out, logs())
		}
	}
}
