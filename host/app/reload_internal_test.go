package app

import (
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

// The fixtures next to a .wasm file run through the plugin: upstream
// bodies the plugin handles pass, one it cannot fails the canary, named.
func TestCanaryFixtures(t *testing.T) {
	p := loadBuiltin(t, "openai")
	dir := filepath.Join(t.TempDir(), "acme.fixtures")
	if err := os.Mkdir(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	src := filepath.Join(filepath.Dir(dir), "acme.wasm")
	if got := fixturesDir(config.PluginEntry{Source: src}, src); got != dir {
		t.Fatalf("fixturesDir = %q, want %q", got, dir)
	}
	copyFile := func(from, to string) {
		b, err := os.ReadFile(from)
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, to), b, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	copyFile("../emulator/testdata/chat-completions.text.response.json", "text.json")
	copyFile("../emulator/testdata/chat-completions.stream-text.response.sse", "text.stream")
	os.WriteFile(filepath.Join(dir, "README.md"), []byte("not a fixture"), 0o600)
	ctx := context.Background()
	if err := canary(ctx, p, dir); err != nil {
		t.Fatal(err)
	}
	if err := canary(ctx, p, filepath.Join(t.TempDir(), "none.fixtures")); err != nil {
		t.Fatalf("a missing fixtures directory: %v", err)
	}

	os.WriteFile(filepath.Join(dir, "broken.stream"), []byte("data: {\"id\":\"x\",\"choices\":[{\"index\":0,\"delta\":{\"content\":\"hi\"}}]}\n\ndata: {\"error\":{\"message\":\"overloaded\",\"type\":\"server_error\"}}\n\n"), 0o600)
	err := canary(ctx, p, dir)
	if err == nil || !strings.Contains(err.Error(), "fixture broken.stream") {
		t.Fatalf("a stream the plugin reports as failed: %v", err)
	}
}
