package app_test

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/aignehub/hub/host/app"
	"github.com/aignehub/hub/host/auth"
	"github.com/aignehub/hub/host/config"
	"github.com/aignehub/hub/store"
)

// serveHub makes a hub with opts (its Builtin, CacheDir and Logger filled
// in: quiet unless -v) and serves it on a loopback listener until the test
// ends. It returns the hub and its address.
func serveHub(t *testing.T, opts app.Options) (*app.Hub, string) {
	t.Helper()
	if _, err := builtin("openai"); err != nil { // sets wasmDir
		t.Fatal(err)
	}
	opts.Builtin, opts.CacheDir = builtin, filepath.Join(wasmDir, "cache")
	opts.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	if testing.Verbose() {
		opts.Logger = slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	hub, err := app.New(context.Background(), opts)
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go hub.Serve(ln)
	t.Cleanup(func() { hub.Shutdown(context.Background()) })
	return hub, ln.Addr().String()
}

// buildHubBinary builds cmd/hub into dir and returns the binary's path.
func buildHubBinary(t *testing.T, dir string) string {
	t.Helper()
	bin := filepath.Join(dir, "hub")
	build := exec.Command("go", "build", "-o", bin, "./cmd/hub")
	build.Dir = "../.."
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("build hub: %v\n%s", err, out)
	}
	return bin
}

// keyBeforeStart makes, in the data dir of cfg, a key with role in
// account (named after it) and grants the account credits (if any), as
// an operator would with the CLI before the hub starts. It returns the key.
func keyBeforeStart(t *testing.T, cfg *config.Config, account, role string, credits int64) string {
	t.Helper()
	ctx := context.Background()
	st, err := app.OpenStore(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	acct, err := st.EnsureAccount(ctx, account)
	if err != nil {
		t.Fatal(err)
	}
	key, hash, prefix := auth.Generate()
	if _, err := st.CreateAPIKey(ctx, store.APIKey{AccountID: acct.ID, Hash: hash, Prefix: prefix, Name: account, Role: role}); err != nil {
		t.Fatal(err)
	}
	if credits > 0 {
		if _, err := st.Grant(ctx, acct.ID, credits, "test", time.Time{}); err != nil {
			t.Fatal(err)
		}
	}
	return key
}

// buildExamplePolicy builds the billing policy in examples/billing-policy
// to wasmDir/name and returns the file's path.
func buildExamplePolicy(t *testing.T, name string) string {
	t.Helper()
	if _, err := builtin("openai"); err != nil { // sets wasmDir
		t.Fatal(err)
	}
	wasm := filepath.Join(wasmDir, name)
	build := exec.Command("go", "build", "-trimpath", "-buildmode=c-shared", "-o", wasm, ".")
	build.Dir = "../../examples/billing-policy"
	build.Env = append(os.Environ(), "GOOS=wasip1", "GOARCH=wasm")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("build example policy: %v\n%s", err, out)
	}
	return wasm
}

// policyTOML is the config of a hub whose billing policy is the plugin
// name, loaded from the file src with the lines entry, in front of the
// emulator at emuURL as provider "openai"; gpt-4o-mini is priced.
func policyTOML(dataDir, name, src, entry, emuURL string) string {
	return fmt.Sprintf(`
data_dir = %q
[billing]
enabled = true
policy = %q
[plugins.%s]
source = %q
%s
[billing.rates]
"gpt-4o-mini" = { input = "1", output = "2" }
[[providers]]
name = "openai"
plugin = "openai"
base_url = "%s/v1"
credentials = ["sk-upstream-secret-1234"]
models = ["gpt-4o-mini"]
`, dataDir, name, name, src, entry, emuURL)
}
