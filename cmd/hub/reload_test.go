package main

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/aignehub/hub/plugins"
)

// TestPluginsReloadCLI hot-reloads a plugin of a real running hub with
// `hub plugins reload|rollback`: a .wasm file source, replaced by another
// module (the builtin ollama plugin standing in for a new build of the
// openai one), then rolled back, then replaced by garbage, which is refused
// with the failed step while the serving version stays.
func TestPluginsReloadCLI(t *testing.T) {
	noMasterKeyEnv(t)
	openai, err := plugins.Builtin("openai")
	if err != nil {
		t.Fatal(err) // make plugins
	}
	ollama, err := plugins.Builtin("ollama")
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	wasm := filepath.Join(dir, "custom.wasm")
	if err := os.WriteFile(wasm, openai, 0o600); err != nil {
		t.Fatal(err)
	}
	cfgPath := filepath.Join(dir, "hub.toml")
	toml := fmt.Sprintf(`data_dir = "data"
[plugins.custom]
source = %q
[[providers]]
name = "seeded"
plugin = "custom"
base_url = "http://127.0.0.1:1/v1"
models = ["gpt-4o"]
`, wasm)
	if err := os.WriteFile(cfgPath, []byte(toml), 0o600); err != nil {
		t.Fatal(err)
	}
	h, hubURL := runningHub(t, cfgPath, nil)

	sum := func(b []byte) string { return sha256Hex(b)[:12] }
	if out := mustHub(t, "plugins", "reload", "custom", "--hub", hubURL); !strings.Contains(out, "plugin custom unchanged") {
		t.Errorf("reload of the same file: %s", out)
	}

	os.WriteFile(wasm, ollama, 0o600)
	var r pluginReload
	decode(t, mustHub(t, "plugins", "reload", "custom", "-json", "--hub", hubURL), &r)
	if !r.OK || !r.Changed || r.Action != "reload" || r.SHA256 != sha256Hex(ollama) || r.Previous == nil || r.Previous.SHA256 != sha256Hex(openai) {
		t.Fatalf("reload: %+v", r)
	}
	var ps []struct {
		pluginInfo
		Rollback struct{ SHA256 string } `json:"rollback"`
	}
	decode(t, mustHub(t, "plugins", "list", "-json", "--hub", hubURL), &ps)
	if len(ps) != 1 || ps[0].SHA256 != sha256Hex(ollama) || ps[0].Rollback.SHA256 != sha256Hex(openai) {
		t.Fatalf("plugins after the reload: %+v", ps)
	}

	out := mustHub(t, "plugins", "rollback", "custom", "--hub", hubURL)
	if !strings.Contains(out, "plugin custom: rollback done") || !strings.Contains(out, sum(openai)) {
		t.Errorf("rollback: %s", out)
	}
	if got := h.Plugins()["custom"].SHA256(); got != sha256Hex(openai) {
		t.Errorf("after the rollback the hub runs %s", got)
	}

	os.WriteFile(wasm, []byte("\x00asm not really"), 0o600)
	wantExit(t, 1, []string{"hub plugins reload: the hub answered 422", "plugin_reload_failed", "step validate", "previous version keeps serving"},
		"plugins", "reload", "custom", "--hub", hubURL)
	if got := h.Plugins()["custom"].SHA256(); got != sha256Hex(openai) {
		t.Errorf("after a failed reload the hub runs %s", got)
	}
	wantExit(t, 2, []string{"want NAME"}, "plugins", "reload", "--hub", hubURL)
	wantExit(t, 1, []string{"404", "not loaded"}, "plugins", "rollback", "nope", "--hub", hubURL)

	// Each action is audited with the admin key as actor.
	rows := auditRows(t, cfgPath, "--action", "plugin.*")
	var actions []string
	for _, r := range rows {
		actions = append(actions, r.Action+" "+r.Target+" "+strings.SplitN(r.Actor, ":", 2)[0])
	}
	if strings.Join(actions, ",") != "plugin.reload custom key,plugin.rollback custom key,plugin.reload custom key,plugin.reload custom key" {
		t.Errorf("audit: %q", actions)
	}
}

func sha256Hex(b []byte) string {
	s := sha256.Sum256(b)
	return hex.EncodeToString(s[:])
}
