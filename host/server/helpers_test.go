package server_test

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
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

// testHub is a real hub on loopback, for the surfaces' end-to-end tests.
type testHub struct {
	t      *testing.T
	hub    *app.Hub
	url    string
	logger *slog.Logger // the hub's; it logs to stderr with -v
}

// startHub starts a hub from the configuration tmpl, formatted with its
// data directory and the URL of upstream (an httptest server it starts),
// with the builtin plugins built from source into a temporary directory.
// Both are stopped when the test ends.
func startHub(t *testing.T, tmpl string, upstream http.Handler) *testHub {
	t.Helper()
	wasmDir := t.TempDir()
	builtin := func(name string) ([]byte, error) {
		out := filepath.Join(wasmDir, name+".wasm")
		if _, err := os.Stat(out); err != nil {
			cmd := exec.Command("go", "build", "-trimpath", "-buildmode=c-shared", "-o", out, "./plugins/"+name)
			cmd.Dir = "../.."
			cmd.Env = append(os.Environ(), "GOOS=wasip1", "GOARCH=wasm")
			if msg, err := cmd.CombinedOutput(); err != nil {
				return nil, fmt.Errorf("build %s: %v\n%s", name, err, msg)
			}
		}
		return os.ReadFile(out)
	}
	es := httptest.NewServer(upstream)
	t.Cleanup(es.Close)
	dir := t.TempDir()
	cfg, err := config.Parse([]byte(fmt.Sprintf(tmpl, filepath.Join(dir, "data"), es.URL)), filepath.Join(dir, "hub.toml"))
	if err != nil {
		t.Fatal(err)
	}
	logger := slog.New(slog.NewTextHandler(io.Discard, nil))
	if testing.Verbose() {
		logger = slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	hub, err := app.New(context.Background(), app.Options{Config: cfg, Logger: logger, Builtin: builtin, CacheDir: filepath.Join(wasmDir, "cache")})
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go hub.Serve(ln)
	t.Cleanup(func() { hub.Shutdown(context.Background()) })
	return &testHub{t: t, hub: hub, url: "http://" + ln.Addr().String(), logger: logger}
}

// newKey creates a user key named name for account (created if need be)
// and returns the key and the account's id.
func (h *testHub) newKey(account, name string) (string, int64) {
	h.t.Helper()
	ctx := context.Background()
	acct, err := h.hub.Store().EnsureAccount(ctx, account)
	if err != nil {
		h.t.Fatal(err)
	}
	key, hash, prefix := auth.Generate()
	if _, err := h.hub.Store().CreateAPIKey(ctx, store.APIKey{AccountID: acct.ID, Hash: hash, Prefix: prefix, Name: name, Role: "user"}); err != nil {
		h.t.Fatal(err)
	}
	return key, acct.ID
}

// call returns the recorded call for a request id.
func (h *testHub) call(reqID string) store.Call {
	h.t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		if err := h.hub.Recorder().Flush(context.Background()); err != nil {
			h.t.Fatal(err)
		}
		calls, err := h.hub.Store().Calls(context.Background(), store.CallFilter{RequestID: reqID})
		if err != nil {
			h.t.Fatal(err)
		}
		if len(calls) == 1 {
			return calls[0]
		}
		if time.Now().After(deadline) {
			h.t.Fatalf("call %s: %d records", reqID, len(calls))
		}
		time.Sleep(20 * time.Millisecond)
	}
}
