package main

import (
	"context"
	"io"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"testing"

	"github.com/aignehub/hub/host/app"
	"github.com/aignehub/hub/host/config"
)

// runningHub loads the config at cfgPath, serves a real hub for it on a
// loopback listener until the test ends, makes an admin key with the CLI
// and puts it in EnvAdminKey for the remote commands. lookupEnv, when not
// nil, is the hub's environment. It returns the hub and its URL.
func runningHub(t *testing.T, cfgPath string, lookupEnv func(string) (string, bool)) (*app.Hub, string) {
	t.Helper()
	cfg, err := config.Load(cfgPath)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	h, err := app.New(ctx, app.Options{
		Config:    cfg,
		Logger:    slog.New(slog.NewTextHandler(io.Discard, nil)),
		LookupEnv: lookupEnv,
		CacheDir:  filepath.Join(os.TempDir(), "aignehub-cmd-hub-test-cache"),
	})
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go h.Serve(ln)
	t.Cleanup(func() { h.Shutdown(ctx) })

	// An admin key made by the CLI works on the running hub at once.
	var k struct{ Key string }
	decode(t, mustHub(t, "keys", "create", "--name", "ops", "--role", "admin", "-json", "-config", cfgPath), &k)
	t.Setenv(EnvAdminKey, k.Key)
	return h, "http://" + ln.Addr().String()
}
