package admin

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/aignehub/hub/store"
)

var _ PluginReloader = (*fakeRuntime)(nil)

// The fake reloads "openai" fine, fails "broken" at the canary, and knows
// no other plugin; only "openai" has a previous version.
func (f *fakeRuntime) ReloadPlugin(_ context.Context, name string) (PluginReload, error) {
	return f.reload(name, "reload")
}

func (f *fakeRuntime) RollbackPlugin(_ context.Context, name string) (PluginReload, error) {
	if name == "broken" {
		return PluginReload{}, fmt.Errorf("plugin %s: %w", name, ErrNoRollback)
	}
	return f.reload(name, "rollback")
}

func (f *fakeRuntime) reload(name, action string) (PluginReload, error) {
	res := PluginReload{Plugin: name, Action: action, Trigger: "api", At: time.Now(), SHA256: strings.Repeat("cd", 32), TookMS: 3}
	switch name {
	case "openai":
		res.OK, res.Changed, res.Version = true, true, "1.0.1"
		res.Previous = &PluginVersion{Version: "1.0.0", SHA256: strings.Repeat("ab", 32), Source: "/plugins/openai.wasm"}
	case "broken":
		res.Step, res.Error, res.Version = StepCanary, "hub_request on the standard chat request: plugin trapped", "9.9.9"
	default:
		return PluginReload{}, fmt.Errorf("plugin %s is not loaded: %w", name, store.ErrNotFound)
	}
	return res, nil
}

func TestPluginReloadRoutes(t *testing.T) {
	x := newHub(t, hubOpts{})

	r := x.do("POST", "/api/admin/plugins/openai/reload", x.admin, nil)
	if r.status != 200 {
		t.Fatalf("reload: %d %s", r.status, r.body)
	}
	var res PluginReload
	if err := json.Unmarshal(r.body, &res); err != nil || !res.OK || res.Version != "1.0.1" || res.Previous == nil || res.Action != "reload" {
		t.Fatalf("reload answer %s (%v)", r.body, err)
	}

	e := x.do("POST", "/api/admin/plugins/broken/reload", x.admin, nil).fails(t, 422, "invalid_request_error", "canary", "plugin_reload_failed")
	if !strings.Contains(e.Error.Message, "plugin trapped") || !strings.Contains(e.Error.Message, "previous version keeps serving") {
		t.Errorf("failed reload message: %q", e.Error.Message)
	}
	x.do("POST", "/api/admin/plugins/broken/rollback", x.admin, nil).fails(t, 409, "invalid_request_error", "", "no_rollback")
	x.do("POST", "/api/admin/plugins/nope/reload", x.admin, nil).fails(t, 404, "not_found_error", "", "")
	x.do("POST", "/api/admin/plugins/openai/rollback", x.user, nil).fails(t, 403, "permission_error", "", "")

	// Both outcomes are audited with the admin key as actor; a refusal
	// (unknown plugin, no rollback, a user key) is not.
	entries, err := x.svc.ListAudit(context.Background(), store.AuditFilter{Actor: x.actor(), Action: "plugin.*"})
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, en := range entries {
		var d map[string]any
		json.Unmarshal(en.Detail, &d)
		got = append(got, fmt.Sprintf("%s %s ok=%v step=%v", en.Action, en.Target, d["ok"], d["step"]))
	}
	want := []string{"plugin.reload broken ok=false step=canary", "plugin.reload openai ok=true step=<nil>"}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("audit %q, want %q", got, want)
	}
}
