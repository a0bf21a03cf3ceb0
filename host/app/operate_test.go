package app_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aignehub/hub/host/app"
	"github.com/aignehub/hub/host/config"
	"github.com/aignehub/hub/host/emulator"
	"github.com/aignehub/hub/host/manage"
	"github.com/aignehub/hub/host/secrets"
	"github.com/aignehub/hub/store"
)

// operateTOML: providers pointing at the emulator with forced behaviours
// (through the openai plugin's "headers" config), weighted and literal
// credentials, and an alias chain across them.
const operateTOML = `
listen = "127.0.0.1:0"
data_dir = %[1]q

[limits]
upstream_timeout = "3s"

[routing]
max_attempts = 6
retries_per_target = 1
backoff = "5ms"
max_backoff = "20ms"
attempt_timeout = "300ms"
failure_threshold = 100

[routing.aliases]
chain = ["e500/gpt-4o-mini", "e429/gpt-4o-mini", "ehang/gpt-4o-mini", "good/gpt-4o-mini"]
streamchain = ["ecut0/gpt-4o-mini", "good/gpt-4o-mini"]
cutlate = ["ecut3/gpt-4o-mini", "good/gpt-4o-mini"]

[plugins.e429]
source = "builtin:openai"
config = { headers = { "X-Emulator-Status" = "429", "X-Emulator-Retry-After" = "30" } }

[plugins.e500]
source = "builtin:openai"
config = { headers = { "X-Emulator-Status" = "500" } }

[plugins.ehang]
source = "builtin:openai"
config = { headers = { "X-Emulator-Hang" = "1" } }

[plugins.ecut0]
source = "builtin:openai"
config = { headers = { "X-Emulator-Fail-After" = "0" } }

[plugins.ecut3]
source = "builtin:openai"
config = { headers = { "X-Emulator-Fail-After" = "3", "X-Emulator-Chunks" = "10" } }

[[providers]]
name = "good"
plugin = "openai"
base_url = "%[2]s/v1"
credentials = [{ secret = "sk-weight-one-aaaa", weight = 1, name = "light" }, { secret = "sk-weight-three-bbbb", weight = 3, name = "heavy" }]
models = ["gpt-4o-mini", "gpt-4o"]

[[providers]]
name = "e500"
plugin = "e500"
base_url = "%[2]s/v1"
credentials = ["sk-upstream-secret-1234"]
models = ["gpt-4o-mini"]

[[providers]]
name = "e429"
plugin = "e429"
base_url = "%[2]s/v1"
credentials = ["sk-upstream-secret-1234"]
models = ["gpt-4o-mini"]

[[providers]]
name = "ehang"
plugin = "ehang"
base_url = "%[2]s/v1"
credentials = ["sk-upstream-secret-1234"]
models = ["gpt-4o-mini"]

[[providers]]
name = "ecut0"
plugin = "ecut0"
base_url = "%[2]s/v1"
credentials = ["sk-upstream-secret-1234"]
models = ["gpt-4o-mini"]

[[providers]]
name = "ecut3"
plugin = "ecut3"
base_url = "%[2]s/v1"
credentials = ["sk-upstream-secret-1234"]
models = ["gpt-4o-mini"]
`

func startOperateHub(t *testing.T) *testHub {
	t.Helper()
	return startHubWith(t, emulator.Options{}, func(dataDir, emuURL string) string {
		return fmt.Sprintf(operateTOML, dataDir, emuURL)
	})
}

func chat(model string, stream bool) string {
	return fmt.Sprintf(`{"model":%q,"stream":%v,"messages":[{"role":"user","content":"hi"}]}`, model, stream)
}

func (h *testHub) attempts(reqID string) string {
	h.t.Helper()
	h.call(reqID) // flushes the recorder
	as, err := h.hub.Store().AttemptsByRequest(context.Background(), reqID)
	if err != nil {
		h.t.Fatal(err)
	}
	var parts []string
	for _, a := range as {
		parts = append(parts, fmt.Sprintf("%s:%s:%d", a.Provider, a.Status, a.HTTPStatus))
	}
	return strings.Join(parts, ",")
}

func TestFailoverChainThroughEmulator(t *testing.T) {
	h := startOperateHub(t)

	resp := h.post(h.key, "/v1/chat/completions", chat("chain", false))
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || !bytes.Contains(body, []byte(`"chat.completion"`)) {
		t.Fatalf("status %d: %s", resp.StatusCode, body)
	}
	reqID := resp.Header.Get("X-Request-Id")
	// 500 is retried once then failed over; 429 fails over at once (its
	// only credential cools down for Retry-After 30s); the hang times out
	// per attempt, is retried, then fails over; good answers.
	want := "e500:error:500,e500:error:500,e429:error:429,ehang:error:0,ehang:error:0,good:ok:200"
	if got := h.attempts(reqID); got != want {
		t.Fatalf("attempts\n got %s\nwant %s", got, want)
	}
	c := h.call(reqID)
	if c.Attempts != 6 || c.Provider != "good" || c.Status != store.CallOK || c.PromptTokens == 0 {
		t.Fatalf("call record %+v", c)
	}

	// The 429'd provider is cooling down: the next call skips it without
	// an upstream request (5 attempts: e500×2, ehang×2, good).
	resp = h.post(h.key, "/v1/chat/completions", chat("chain", false))
	resp.Body.Close()
	if got := h.attempts(resp.Header.Get("X-Request-Id")); got != "e500:error:500,e500:error:500,ehang:error:0,ehang:error:0,good:ok:200" {
		t.Fatalf("second call attempts %s", got)
	}
}

func TestStreamFailoverOnlyBeforeOutput(t *testing.T) {
	h := startOperateHub(t)

	resp := h.post(h.key, "/v1/chat/completions", chat("streamchain", true))
	events := sse(t, resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || len(events) < 3 || events[len(events)-1] != "[DONE]" {
		t.Fatalf("status %d events %q", resp.StatusCode, events)
	}
	// A stream cut before any output is retryable: retried once, then
	// failed over.
	if got := h.attempts(resp.Header.Get("X-Request-Id")); got != "ecut0:error:200,ecut0:error:200,good:ok:200" {
		t.Fatalf("attempts %s", got)
	}

	// Cut after 3 events: output has reached the client, so no failover:
	// the stream ends with an error event and no [DONE].
	resp = h.post(h.key, "/v1/chat/completions", chat("cutlate", true))
	events = sse(t, resp.Body)
	resp.Body.Close()
	if len(events) == 0 || events[len(events)-1] == "[DONE]" || !strings.Contains(events[len(events)-1], `"error"`) {
		t.Fatalf("events %q", events)
	}
	if got := h.attempts(resp.Header.Get("X-Request-Id")); got != "ecut3:error:200" {
		t.Fatalf("attempts %s", got)
	}
}

func TestWeightedCredentialsAndSecretsAtRest(t *testing.T) {
	h := startOperateHub(t)
	for range 40 {
		resp := h.post(h.key, "/v1/chat/completions", chat("good/gpt-4o", false))
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 200 {
			t.Fatalf("status %d", resp.StatusCode)
		}
	}
	counts := map[string]int{}
	for _, r := range h.emu.Requests() {
		if strings.Contains(string(r.Body), `"gpt-4o"`) {
			counts[r.Header.Get("Authorization")]++
		}
	}
	if counts["Bearer sk-weight-one-aaaa"] != 10 || counts["Bearer sk-weight-three-bbbb"] != 30 {
		t.Fatalf("weighted rotation: %v", counts)
	}

	// Literal secrets from hub.toml are stored encrypted: no clear secret
	// in the database files, and the listing shows only the hint.
	h.hub.Recorder().Flush(context.Background())
	for _, f := range []string{"hub.db", "hub.db-wal"} {
		b, err := os.ReadFile(filepath.Join(h.dataDir, f))
		if err != nil && !os.IsNotExist(err) {
			t.Fatal(err)
		}
		for _, s := range []string{"sk-weight-one-aaaa", "sk-weight-three-bbbb", "sk-upstream-secret-1234"} {
			if bytes.Contains(b, []byte(s)) {
				t.Fatalf("%s holds the clear secret %s", f, s)
			}
		}
	}
	sp, err := h.hub.Store().ProviderByName(context.Background(), "good")
	if err != nil {
		t.Fatal(err)
	}
	creds, _ := h.hub.Store().ListCredentials(context.Background(), sp.ID)
	if len(creds) != 2 || len(creds[0].Ciphertext) < 30 || creds[0].Hint != "****aaaa" || creds[1].Weight != 3 || creds[1].Name != "heavy" {
		t.Fatalf("stored credentials %+v", creds)
	}

	// Tamper with the ciphertext (an attacker with the DB file): the
	// credential is detected as broken and never used.
	ct := append([]byte(nil), creds[1].Ciphertext...)
	ct[len(ct)-3] ^= 0x40
	if _, err := h.hub.Store().UpdateCredential(context.Background(), creds[1].ID, store.CredentialPatch{Ciphertext: ct}); err != nil {
		t.Fatal(err)
	}
	if err := h.hub.Reload(context.Background()); err != nil {
		t.Fatal(err)
	}
	before := len(h.emu.Requests())
	for range 8 {
		resp := h.post(h.key, "/v1/chat/completions", chat("good/gpt-4o", false))
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
	}
	for _, r := range h.emu.Requests()[before:] {
		if a := r.Header.Get("Authorization"); a != "Bearer sk-weight-one-aaaa" {
			t.Fatalf("a tampered credential was used: %q", a)
		}
	}
	var state struct {
		Data []struct {
			Name        string
			Credentials []struct{ Name, Status, Reason string }
		}
	}
	h.adminJSON(h.adminKey(), "GET", "/api/admin/state", "", 200, &state)
	found := false
	for _, p := range state.Data {
		for _, c := range p.Credentials {
			if p.Name == "good" && c.Name == "heavy" {
				found = c.Status == "broken" && strings.Contains(c.Reason, "decrypt")
			}
		}
	}
	if !found {
		t.Fatalf("tampered credential not reported broken: %+v", state)
	}
}

// adminKey creates (once per hub) an admin key.
func (h *testHub) adminKey() string {
	adminKeys.Lock()
	defer adminKeys.Unlock()
	if k, ok := adminKeys.m[h]; ok {
		return k
	}
	k, _ := h.newKey("admin")
	adminKeys.m[h] = k
	return k
}

var adminKeys = struct {
	sync.Mutex
	m map[*testHub]string
}{m: map[*testHub]string{}}

// adminJSON calls the admin API and decodes the answer into out.
func (h *testHub) adminJSON(key, method, path, body string, wantStatus int, out any) http.Header {
	h.t.Helper()
	req, _ := http.NewRequest(method, h.url+path, strings.NewReader(body))
	req.Header.Set("Authorization", "Bearer "+key)
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		h.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != wantStatus {
		h.t.Fatalf("%s %s: status %d, want %d: %s", method, path, resp.StatusCode, wantStatus, b)
	}
	if out != nil {
		if err := json.Unmarshal(b, out); err != nil {
			h.t.Fatalf("%s %s: %v: %s", method, path, err, b)
		}
	}
	return resp.Header
}

func TestAdminAPIDrivesRouting(t *testing.T) {
	h := startOperateHub(t)
	admin := h.adminKey()

	// A user key is refused on the admin API.
	h.adminJSON(h.key, "GET", "/api/admin/providers", "", 403, nil)
	h.adminJSON("", "GET", "/api/admin/providers", "", 401, nil)

	// A provider added through the API serves at once, no restart.
	emuURL := strings.TrimSuffix(h.providerURL("good"), "/v1")
	h.adminJSON(admin, "POST", "/api/admin/providers",
		fmt.Sprintf(`{"name":"claude","plugin":"anthropic","base_url":%q,"models":["claude-3-5-haiku-latest"]}`, emuURL), 201, nil)
	h.adminJSON(admin, "POST", "/api/admin/providers/claude/credentials", `{"name":"main","secret":"sk-ant-secret-zzzz9999"}`, 201, nil)
	resp := h.post(h.key, "/v1/chat/completions", chat("claude/claude-3-5-haiku-latest", false))
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Fatalf("new provider: %d %s", resp.StatusCode, body)
	}
	last := h.emu.Requests()[len(h.emu.Requests())-1]
	if last.Header.Get("X-Api-Key") != "sk-ant-secret-zzzz9999" {
		t.Fatalf("anthropic credential not injected: %v", last.Header)
	}

	// Test connection, and the secret never comes back.
	var creds struct{ Data []map[string]any }
	h.adminJSON(admin, "GET", "/api/admin/providers/claude/credentials", "", 200, &creds)
	raw, _ := json.Marshal(creds)
	if len(creds.Data) != 1 || bytes.Contains(raw, []byte("zzzz9999x")) || !bytes.Contains(raw, []byte("****9999")) {
		t.Fatalf("credential listing %s", raw)
	}
	var res struct {
		OK     bool `json:"ok"`
		Status int  `json:"status"`
	}
	h.adminJSON(admin, "POST", fmt.Sprintf("/api/admin/providers/claude/credentials/%v/test", creds.Data[0]["id"]), "", 200, &res)
	if !res.OK || res.Status != 200 {
		t.Fatalf("test connection %+v", res)
	}

	// Every change is in the audit log, with the admin key as actor.
	var audit struct {
		Data []struct{ Actor, Action, Target string }
	}
	h.adminJSON(admin, "GET", "/api/admin/audit?limit=10", "", 200, &audit)
	actions := map[string]string{}
	for _, e := range audit.Data {
		actions[e.Action+" "+e.Target] = e.Actor
	}
	for _, want := range []string{"provider.create claude", "credential.create claude/main"} {
		if a, ok := actions[want]; !ok || !strings.HasPrefix(a, "key:") {
			t.Fatalf("audit misses %q: %+v", want, audit.Data)
		}
	}

	// Deleting the provider takes it out of routing at once.
	h.adminJSON(admin, "DELETE", "/api/admin/providers/claude", "", 204, nil)
	resp = h.post(h.key, "/v1/chat/completions", chat("claude/claude-3-5-haiku-latest", false))
	if resp.StatusCode != 404 {
		t.Fatalf("deleted provider still routed: %d", resp.StatusCode)
	}
	resp.Body.Close()
}

// providerURL returns a config provider's base URL.
func (h *testHub) providerURL(name string) string {
	p, err := h.hub.Store().ProviderByName(context.Background(), name)
	if err != nil {
		h.t.Fatal(err)
	}
	return p.BaseURL
}

func TestKeyLimitsThroughTheHub(t *testing.T) {
	h := startOperateHub(t)
	admin := h.adminKey()
	var k struct {
		Key string `json:"key"`
		ID  int64  `json:"id"`
	}
	h.adminJSON(admin, "POST", "/api/admin/keys", `{"name":"limited","rpm":2,"allowed_models":["good/*","chain"]}`, 201, &k)
	if !strings.HasPrefix(k.Key, "sk-hub-") {
		t.Fatalf("created key %+v", k)
	}
	var statuses []int
	var last *http.Response
	for range 3 {
		resp := h.post(k.Key, "/v1/chat/completions", chat("good/gpt-4o-mini", false))
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		statuses = append(statuses, resp.StatusCode)
		last = resp
	}
	if fmt.Sprint(statuses) != "[200 200 429]" || last.Header.Get("Retry-After") == "" {
		t.Fatalf("rpm: statuses %v, Retry-After %q", statuses, last.Header.Get("Retry-After"))
	}

	// Allow-list: another model is 403 in the OpenAI shape.
	h.adminJSON(admin, "PATCH", fmt.Sprintf("/api/admin/keys/%d", k.ID), `{"rpm":0}`, 200, nil)
	time.Sleep(400 * time.Millisecond) // key cache purge / poll
	resp := h.post(k.Key, "/v1/chat/completions", chat("e500/gpt-4o-mini", false))
	if e := decodeError(t, resp); resp.StatusCode != 403 || deref(e.Error.Code) != "model_not_allowed" {
		t.Fatalf("allow-list: %d %+v", resp.StatusCode, e)
	}

	// Concurrency 1: a second call while one is in flight is refused.
	h.adminJSON(admin, "PATCH", fmt.Sprintf("/api/admin/keys/%d", k.ID), `{"max_concurrency":1,"allowed_models":[]}`, 200, nil)
	time.Sleep(400 * time.Millisecond)
	done := make(chan int)
	go func() {
		resp := h.post(k.Key, "/v1/chat/completions", chat("ehang/gpt-4o-mini", false))
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		done <- resp.StatusCode
	}()
	time.Sleep(100 * time.Millisecond)
	resp = h.post(k.Key, "/v1/chat/completions", chat("good/gpt-4o-mini", false))
	if e := decodeError(t, resp); resp.StatusCode != 429 || !strings.Contains(e.Error.Message, "concurrent") {
		t.Fatalf("concurrency: %d %+v", resp.StatusCode, e)
	}
	<-done

	// TPM: counted from actual usage (a fresh key: the calls above count).
	h.adminJSON(admin, "POST", "/api/admin/keys", `{"name":"tpm","tpm":5}`, 201, &k)
	resp = h.post(k.Key, "/v1/chat/completions", chat("good/gpt-4o-mini", false))
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Fatalf("tpm first call %d", resp.StatusCode)
	}
	resp = h.post(k.Key, "/v1/chat/completions", chat("good/gpt-4o-mini", false))
	if e := decodeError(t, resp); resp.StatusCode != 429 || !strings.Contains(e.Error.Message, "tokens per minute") || resp.Header.Get("Retry-After") == "" {
		t.Fatalf("tpm: %d %+v", resp.StatusCode, e)
	}
}

func TestConfigSeedingKeepsAPIChanges(t *testing.T) {
	h := startOperateHub(t)
	admin := h.adminKey()
	// An API-added credential on a config provider survives a restart.
	h.adminJSON(admin, "POST", "/api/admin/providers/good/credentials", `{"name":"extra","secret":"sk-extra-secret-5555"}`, 201, nil)
	cfg := h.hub.Config()
	h.hub.Shutdown(context.Background())

	restartAt := time.Now()
	h2 := restartHub(t, cfg)
	sp, err := h2.Store().ProviderByName(context.Background(), "good")
	if err != nil {
		t.Fatal(err)
	}
	creds, _ := h2.Store().ListCredentials(context.Background(), sp.ID)
	var names []string
	for _, c := range creds {
		names = append(names, c.Name+"/"+c.ManagedBy)
	}
	if strings.Join(names, ",") != "light/config,heavy/config,extra/api" {
		t.Fatalf("after restart: %v", names)
	}
	// An unchanged file writes nothing: no new audit rows from "config".
	entries, _ := h2.Store().ListAudit(context.Background(), store.AuditFilter{Actor: "config", Since: restartAt})
	if len(entries) != 0 {
		t.Fatalf("reseeding an unchanged config wrote %d audit rows: %+v", len(entries), entries)
	}
}

// restartHub starts a second hub on a stopped one's config (same data dir).
func restartHub(t *testing.T, cfg *config.Config) *app.Hub {
	t.Helper()
	hub, err := app.New(context.Background(), app.Options{Config: cfg, Logger: slog.New(slog.NewTextHandler(io.Discard, nil)),
		Builtin: builtin, CacheDir: filepath.Join(wasmDir, "cache")})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { hub.Shutdown(context.Background()) })
	return hub
}

// A credential the provider refuses (401) is disabled and traffic moves to
// the others; the state says why.
func TestRefusedCredentialIsDisabled(t *testing.T) {
	h := startHubWith(t, emulator.Options{APIKey: "sk-the-good-one-1111"}, func(dataDir, emuURL string) string {
		return fmt.Sprintf(`
data_dir = %q
[[providers]]
name = "openai"
plugin = "openai"
base_url = "%s/v1"
credentials = [{ secret = "sk-the-revoked-one-0000", name = "old" }, { secret = "sk-the-good-one-1111", name = "new" }]
models = ["gpt-4o-mini"]
`, dataDir, emuURL)
	})
	for i := range 6 {
		resp := h.post(h.key, "/v1/chat/completions", chat("gpt-4o-mini", i%2 == 1))
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 200 {
			t.Fatalf("call %d: status %d", i, resp.StatusCode)
		}
	}
	refused := 0
	for _, r := range h.emu.Requests() {
		if r.Header.Get("Authorization") == "Bearer sk-the-revoked-one-0000" {
			refused++
		}
	}
	if refused != 1 {
		t.Fatalf("the refused credential was sent %d times", refused)
	}
	var state struct {
		Data []struct {
			Credentials []struct{ Name, Status, Reason, Hint string }
		}
	}
	h.adminJSON(h.adminKey(), "GET", "/api/admin/state", "", 200, &state)
	c := state.Data[0].Credentials[0]
	if c.Name != "old" || c.Status != "disabled" || !strings.Contains(c.Reason, "401") || c.Hint != "****0000" {
		t.Fatalf("state %+v", state.Data[0].Credentials)
	}
}

// Rotating the master key re-encrypts every stored secret; a hub started
// afterwards serves with them.
func TestMasterKeyRotationThenRestart(t *testing.T) {
	h := startOperateHub(t)
	h.adminJSON(h.adminKey(), "POST", "/api/admin/providers/good/credentials", `{"name":"extra","secret":"sk-extra-secret-7777"}`, 201, nil)
	cfg := h.hub.Config()
	oldKey, err := os.ReadFile(filepath.Join(cfg.DataDir, "master.key"))
	if err != nil {
		t.Fatal(err)
	}
	h.hub.Shutdown(context.Background())

	st, err := app.OpenStore(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	kr, err := secrets.Load(cfg.DataDir, noEnv)
	if err != nil {
		t.Fatal(err)
	}
	ctx := store.WithActor(context.Background(), store.Actor{Name: "cli:test"})
	res, err := manage.New(manage.Options{Store: st, Keyring: kr, Config: cfg}).RotateMasterKey(ctx, cfg.DataDir, noEnv)
	st.Close()
	if err != nil {
		t.Fatal(err)
	}
	newKey, _ := os.ReadFile(filepath.Join(cfg.DataDir, "master.key"))
	if res.Rewrapped != 8 || bytes.Equal(oldKey, newKey) || res.OldKeyID == res.NewKeyID {
		t.Fatalf("rotation %+v", res)
	}

	h2 := restartHub(t, cfg)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go h2.Serve(ln)
	h3 := &testHub{t: t, hub: h2, url: "http://" + ln.Addr().String(), emu: h.emu, dataDir: cfg.DataDir}
	for range 5 {
		resp := h3.post(h.key, "/v1/chat/completions", chat("good/gpt-4o", false))
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 200 {
			t.Fatalf("after rotation: %d", resp.StatusCode)
		}
	}
	var state struct {
		Data []struct {
			Name        string
			Credentials []struct{ Name, Status string }
		}
	}
	h3.adminJSON(h3.adminKey(), "GET", "/api/admin/state", "", 200, &state)
	for _, p := range state.Data {
		for _, c := range p.Credentials {
			if c.Status != "active" {
				t.Fatalf("%s/%s is %s after rotation", p.Name, c.Name, c.Status)
			}
		}
	}
}

func noEnv(string) (string, bool) { return "", false }

// A start that fails (an env credential that is not set) returns the
// error, cleanly, naming the variable.
func TestStartFailsCleanlyOnMissingEnvCredential(t *testing.T) {
	dir := t.TempDir()
	cfg, err := config.Parse([]byte(fmt.Sprintf(`
data_dir = %q
[[providers]]
name = "openai"
plugin = "openai"
base_url = "http://127.0.0.1:1/v1"
credentials = ["env:HUB_TEST_SURELY_UNSET_KEY"]
models = ["gpt-4o-mini"]
`, filepath.Join(dir, "data"))), filepath.Join(dir, "hub.toml"))
	if err != nil {
		t.Fatal(err)
	}
	_, err = app.New(context.Background(), app.Options{Config: cfg, Logger: slog.New(slog.NewTextHandler(io.Discard, nil)),
		Builtin: builtin, CacheDir: t.TempDir(), LookupEnv: noEnv})
	if err == nil || !strings.Contains(err.Error(), "HUB_TEST_SURELY_UNSET_KEY") {
		t.Fatalf("err = %v", err)
	}
}

// A key with an allow-list lists only the models it may use, in either
// shape.
func TestModelListFollowsAllowList(t *testing.T) {
	h := startOperateHub(t)
	var k struct {
		Key string `json:"key"`
	}
	h.adminJSON(h.adminKey(), "POST", "/api/admin/keys", `{"name":"narrow","allowed_models":["good/*","e500/gpt-4o-mini"]}`, 201, &k)
	for _, anthropic := range []bool{false, true} {
		req, _ := http.NewRequest("GET", h.url+"/v1/models", nil)
		req.Header.Set("Authorization", "Bearer "+k.Key)
		if anthropic {
			req.Header.Set("Anthropic-Version", "2023-06-01")
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		var list struct {
			Data []struct{ ID string } `json:"data"`
		}
		json.NewDecoder(resp.Body).Decode(&list)
		resp.Body.Close()
		var ids []string
		for _, m := range list.Data {
			ids = append(ids, m.ID)
		}
		if got := strings.Join(ids, ","); got != "e500/gpt-4o-mini,good/gpt-4o,good/gpt-4o-mini" {
			t.Fatalf("anthropic=%v: models %s", anthropic, got)
		}
	}
	// The unrestricted key still sees every model.
	resp, _ := http.NewRequest("GET", h.url+"/v1/models", nil)
	resp.Header.Set("Authorization", "Bearer "+h.key)
	r, err := http.DefaultClient.Do(resp)
	if err != nil {
		t.Fatal(err)
	}
	var all struct {
		Data []struct{ ID string } `json:"data"`
	}
	json.NewDecoder(r.Body).Decode(&all)
	r.Body.Close()
	if len(all.Data) < 7 {
		t.Fatalf("unrestricted key sees %d models", len(all.Data))
	}
}
