package app

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/aignehub/hub/host/config"
	"github.com/aignehub/hub/plugins"
	"github.com/aignehub/hub/runtime"
)

// loadBuiltin loads an embedded builtin plugin (make plugins builds them).
func loadBuiltin(t *testing.T, name string) *runtime.Plugin {
	t.Helper()
	wasm, err := plugins.Builtin(name)
	if err != nil {
		t.Fatal(err)
	}
	// A cache that outlives the test binary: compiling under -race is slow.
	cache, err := runtime.NewCache(filepath.Join(os.TempDir(), "aignehub-app-canary-cache"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cache.Close(context.Background()) })
	p, err := runtime.Load(context.Background(), runtime.Options{Name: name, Wasm: wasm, Trusted: true, Cache: cache})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { p.Close(context.Background()) })
	return p
}

// Every builtin plugin, provider or billing, passes the canary: a canary
// that refused a good plugin would block every reload of it.
func TestCanaryPassesEveryBuiltin(t *testing.T) {
	names := plugins.Names()
	if len(names) < 7 {
		t.Fatalf("only %d builtin plugins are embedded (%v): run make plugins", len(names), names)
	}
	for _, name := range names {
		t.Run(name, func(t *testing.T) {
			if err := canary(context.Background(), loadBuiltin(t, name), ""); err != nil {
				t.Fatal(err)
			}
		})
	}
}

// The fixtures next to a .wasm file (NAME.fixtures/, cases in the
// conformance kit's format) run through the plugin: cases it answers as
// their want.json says pass, one it does not fails the canary, named.
func TestCanaryFixtures(t *testing.T) {
	p := loadBuiltin(t, "openai")
	dir := filepath.Join(t.TempDir(), "acme.fixtures")
	src := filepath.Join(filepath.Dir(dir), "acme.wasm")
	if got := fixturesDir(config.PluginEntry{Source: src}, src); got != dir {
		t.Fatalf("fixturesDir = %q, want %q", got, dir)
	}
	if err := os.CopyFS(dir, os.DirFS("../conformance/testdata/builtin/openai")); err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	if err := canary(ctx, p, dir); err != nil {
		t.Fatal(err)
	}
	if err := canary(ctx, p, filepath.Join(t.TempDir(), "none.fixtures")); err != nil {
		t.Fatalf("a missing fixtures directory: %v", err)
	}

	// A case whose answer differs from its want.json.
	if err := os.CopyFS(filepath.Join(dir, "zz-broken"), os.DirFS(filepath.Join(dir, "chat"))); err != nil {
		t.Fatal(err)
	}
	want := filepath.Join(dir, "zz-broken", "want.json")
	b, err := os.ReadFile(want)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(want, bytes.Replace(b, []byte("/chat/completions"), []byte("/chat/elsewhere"), 1), 0o600); err != nil {
		t.Fatal(err)
	}
	err = canary(ctx, p, dir)
	if err == nil || !strings.Contains(err.Error(), "fixture zz-broken") {
		t.Fatalf("a case answered otherwise than its want.json: %v", err)
	}
}
