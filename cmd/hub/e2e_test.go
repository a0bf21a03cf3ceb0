package main

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"
)

// TestCLIWithRunningHub runs a real hub on a loopback listener next to
// the CLI, on one data dir: changes made by the CLI reach the running hub
// by themselves, a literal secret sealed by the CLI is what the hub sends
// upstream, and the remote commands read the real admin API.
func TestCLIWithRunningHub(t *testing.T) {
	noMasterKeyEnv(t)
	const secret = "sk-upstream-Secret-0123456789wxyz"
	var mu sync.Mutex
	var upstreamAuth []string
	upstream := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		upstreamAuth = append(upstreamAuth, r.Method+" "+r.URL.Path+" "+r.Header.Get("Authorization"))
		mu.Unlock()
		w.Header().Set("Content-Type", "application/json")
		if r.Header.Get("Authorization") != "Bearer "+secret {
			w.WriteHeader(401)
			fmt.Fprint(w, `{"error":{"message":"Incorrect API key provided.","type":"invalid_request_error","code":"invalid_api_key"}}`)
			return
		}
		fmt.Fprint(w, `{"object":"list","data":[{"id":"gpt-4o","object":"model","owned_by":"test"}]}`)
	}))
	defer upstream.Close()

	dir := t.TempDir()
	cfgPath := filepath.Join(dir, "hub.toml")
	toml := fmt.Sprintf(`data_dir = "data"
[[providers]]
name = "seeded"
plugin = "openai"
base_url = "%s/v1"
credentials = ["sk-seeded-wrong-secret-0000"]
models = ["gpt-4o"]
`, upstream.URL)
	if err := os.WriteFile(cfgPath, []byte(toml), 0o600); err != nil {
		t.Fatal(err)
	}
	// An admin key made by the CLI works on the running hub at once.
	_, hubURL := runningHub(t, cfgPath, func(string) (string, bool) { return "", false })

	var plugins []pluginInfo
	decode(t, mustHub(t, "plugins", "list", "-json", "--hub", hubURL), &plugins)
	if len(plugins) == 0 || plugins[0].Name != "openai" || len(plugins[0].Providers) != 1 || plugins[0].Providers[0] != "seeded" || plugins[0].SHA256 == "" {
		t.Fatalf("plugins: %+v", plugins)
	}
	if out := mustHub(t, "plugins", "list", "--hub", hubURL); !strings.Contains(out, "builtin:openai") {
		t.Errorf("plugins: %s", out)
	}

	// A provider and a literal secret added by the CLI are routed within
	// about a second, without a restart.
	mustHub(t, "providers", "add", "--name", "added", "--plugin", "openai", "--base-url", upstream.URL+"/v1", "--model", "gpt-4o", "-config", cfgPath)
	if code, _, errs := hubIn(t, secret+"\n", "credentials", "add", "added", "--name", "main", "--secret-stdin", "-config", cfgPath); code != 0 {
		t.Fatal(errs)
	}
	var added *providerState
	deadline := time.Now().Add(10 * time.Second)
	for added == nil {
		var states []providerState
		decode(t, mustHub(t, "state", "-json", "--hub", hubURL), &states)
		for i, p := range states {
			if p.Name == "added" && len(p.Credentials) == 1 {
				added = &states[i]
			}
		}
		if added == nil && time.Now().After(deadline) {
			t.Fatalf("the running hub did not pick up the CLI's provider: %+v", states)
		}
		time.Sleep(50 * time.Millisecond)
	}
	if c := added.Credentials[0]; c.Name != "main" || c.Status != "active" || c.Hint != "****wxyz" {
		t.Errorf("state of added/main: %+v", c)
	}
	out := mustHub(t, "state", "--hub", hubURL)
	if !strings.Contains(out, "added") || !strings.Contains(out, "seeded") || strings.Contains(out, secret) {
		t.Errorf("state: %s", out)
	}

	// Testing the credential makes a live upstream call with the secret the
	// CLI sealed and the hub decrypted.
	out = mustHub(t, "credentials", "test", "added", "main", "-config", cfgPath, "--hub", hubURL)
	if !strings.HasPrefix(out, "ok:") || strings.Contains(out, secret) {
		t.Errorf("test: %s", out)
	}
	mu.Lock()
	last := upstreamAuth[len(upstreamAuth)-1]
	mu.Unlock()
	if last != "GET /v1/models Bearer "+secret {
		t.Errorf("the upstream saw %q", last)
	}
	// The seeded credential is refused upstream: its test fails, exit 1.
	code, out, errs := hub(t, "credentials", "test", "seeded", "seeded-1", "-config", cfgPath, "--hub", hubURL)
	if code != 1 || strings.HasPrefix(out, "ok:") {
		t.Errorf("test of a refused credential: %d %s %s", code, out, errs)
	}

	// The admin API's audit rows and the CLI's are in one log.
	rows := auditRows(t, cfgPath, "--action", "credential.*")
	var actions []string
	for _, r := range rows {
		actions = append(actions, r.Action+" "+r.Target+" "+strings.SplitN(r.Actor, ":", 2)[0])
	}
	if !slices.Contains(actions, "credential.create added/main cli") || !slices.Contains(actions, "credential.create seeded/seeded-1 config") ||
		len(actions) == 0 || actions[0] != "credential.test seeded/seeded-1 key" {
		t.Errorf("audit: %q", actions)
	}
	raw, _ := json.Marshal(rows)
	if strings.Contains(string(raw), secret) {
		t.Fatal("the secret is in the audit log")
	}
}
