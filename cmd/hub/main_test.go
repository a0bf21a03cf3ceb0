package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/aignehub/hub/host/auth"
	"github.com/aignehub/hub/host/config"
	"github.com/aignehub/hub/store"
)

func hub(t *testing.T, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	var out, errb bytes.Buffer
	code = run(context.Background(), args, &out, &errb)
	return code, out.String(), errb.String()
}

func writeConfig(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	path := filepath.Join(dir, "hub.toml")
	cfg := `data_dir = "data"
[[providers]]
name = "openai"
plugin = "openai"
base_url = "http://127.0.0.1:1/v1"
credentials = ["literal-secret-value"]
models = ["gpt-4o-mini"]
`
	if err := os.WriteFile(path, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

func TestKeysCommands(t *testing.T) {
	cfg := writeConfig(t)
	code, out, errs := hub(t, "keys", "create", "--name", "alice", "-config", cfg)
	if code != 0 {
		t.Fatalf("create: %d %s", code, errs)
	}
	lines := strings.Split(strings.TrimSpace(out), "\n")
	key := lines[len(lines)-1]
	if !strings.HasPrefix(key, auth.KeyPrefix) || strings.Contains(key, " ") {
		t.Fatalf("the key must be alone on the last line: %q", out)
	}
	code, out, _ = hub(t, "keys", "create", "--name", "root", "--role", "admin", "--expires", "1h", "-config", cfg)
	if code != 0 || !strings.Contains(out, "admin") {
		t.Fatalf("create admin: %d %s", code, out)
	}
	code, out, _ = hub(t, "keys", "list", "-config", cfg)
	if code != 0 || !strings.Contains(out, "alice") || !strings.Contains(out, "root") || strings.Contains(out, key) || !strings.Contains(out, key[:auth.DisplayPrefixLen]) {
		t.Fatalf("list: %d\n%s", code, out)
	}
	if code, _, _ = hub(t, "keys", "revoke", "alice", "-config", cfg); code != 0 {
		t.Fatal("revoke by name failed")
	}
	c, err := config.Load(cfg)
	if err != nil {
		t.Fatal(err)
	}
	st, err := store.Open(context.Background(), filepath.Join(c.DataDir, "hub.db"), store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	k, err := st.APIKeyByHash(context.Background(), auth.Hash(key))
	if err != nil || k.RevokedAt.IsZero() {
		t.Fatalf("key not revoked: %+v %v", k, err)
	}
	for _, bad := range [][]string{
		{"keys", "create", "-config", cfg},
		{"keys", "create", "--name", "x", "--role", "god", "-config", cfg},
		{"keys", "revoke", "nobody", "-config", cfg},
		{"keys", "frobnicate", "-config", cfg},
		{"keys"},
	} {
		if code, _, _ := hub(t, bad...); code == 0 {
			t.Errorf("%v succeeded", bad)
		}
	}
}

func TestValidateCommand(t *testing.T) {
	code, out, errs := hub(t, "validate", "-config", writeConfig(t))
	if code != 0 || !strings.Contains(out, "ok") {
		t.Fatalf("%d %s %s", code, out, errs)
	}
	code, out, _ = hub(t, "validate", "-config", "../../hub.toml")
	if code != 0 {
		t.Fatalf("the repo's hub.toml: %d %s", code, out)
	}
	bad := filepath.Join(t.TempDir(), "bad.toml")
	os.WriteFile(bad, []byte("listen = \"nope\"\nbogus = 1\n[[providers]]\nname = \"BAD NAME\"\n"), 0o600)
	code, _, errs = hub(t, "validate", "-config", bad)
	if code == 0 || !strings.Contains(errs, "bogus") || !strings.Contains(errs, ":2") {
		t.Fatalf("bad config: %d\n%s", code, errs)
	}
	if strings.Contains(errs, "literal-secret-value") {
		t.Fatal("a secret leaked")
	}
}

func TestVersionAndUsage(t *testing.T) {
	if code, out, _ := hub(t, "version"); code != 0 || !strings.Contains(out, "ABI v1") {
		t.Fatalf("version: %d %s", code, out)
	}
	if code, _, errs := hub(t, "nope"); code != 2 || !strings.Contains(errs, "usage") {
		t.Fatalf("unknown command: %d %s", code, errs)
	}
	if code, out, _ := hub(t, "help"); code != 0 || !strings.Contains(out, "keys create") {
		t.Fatalf("help: %d %s", code, out)
	}
}
