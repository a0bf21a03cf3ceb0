package app_test

import (
	"compress/gzip"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"io/fs"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"
	"testing/fstest"
	"time"

	"github.com/aignehub/hub/host/app"
	"github.com/aignehub/hub/host/config"
	"github.com/aignehub/hub/host/emulator"
	"github.com/aignehub/hub/host/manage"
	"github.com/aignehub/hub/store"
)

// The dashboard's Go side through a real hub: its files at "/", sign-in
// sessions acting as keys on every API, and the routes its pages use.

// dashHub is a hub serving fsys as its dashboard (nil: the embedded one).
type dashHub struct {
	t        *testing.T
	hub      *app.Hub
	url      string
	host     string
	admin    string
	user     string
	userID   int64
	userAcct int64
}

func startDashboardHub(t *testing.T, fsys fs.FS) *dashHub {
	t.Helper()
	es := httptest.NewServer(emulator.New(emulator.Options{}))
	t.Cleanup(es.Close)
	dir := t.TempDir()
	cfg, err := config.Parse([]byte(fmt.Sprintf(dashboardTOML, filepath.Join(dir, "data"), es.URL)), filepath.Join(dir, "hub.toml"))
	if err != nil {
		t.Fatal(err)
	}
	hub, addr := serveHub(t, app.Options{Config: cfg, Dashboard: fsys})
	x := &dashHub{t: t, hub: hub, url: "http://" + addr, host: addr}
	cli := store.WithActor(context.Background(), store.Actor{Name: "cli:test"})
	svc := manage.New(manage.Options{Store: hub.Store(), KeysChanged: hub.Auth().Purge})
	if x.admin, _, err = svc.CreateKey(cli, manage.KeySpec{Name: "root", Role: "admin", Account: "ops"}); err != nil {
		t.Fatal(err)
	}
	var uv manage.KeyView
	if x.user, uv, err = svc.CreateKey(cli, manage.KeySpec{Name: "app", Account: "acme"}); err != nil {
		t.Fatal(err)
	}
	x.userID, x.userAcct = uv.ID, uv.AccountID
	if err := hub.Biller().Grant(cli, uv.AccountID, 5_000_000, "test", time.Time{}); err != nil {
		t.Fatal(err)
	}
	return x
}

// tab is a client with a cookie jar, as a browser tab is.
type tab struct {
	x    *dashHub
	c    *http.Client
	csrf string
}

func (x *dashHub) tab() *tab {
	jar, _ := cookiejar.New(nil)
	return &tab{x: x, c: &http.Client{Jar: jar}}
}

// do sends a request; h sets headers (a "Authorization" of "" is left
// out). The CSRF token is sent when withCSRF.
func (b *tab) do(method, path, body string, withCSRF bool, h map[string]string) *http.Response {
	b.x.t.Helper()
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	r, err := http.NewRequest(method, b.x.url+path, rd)
	if err != nil {
		b.x.t.Fatal(err)
	}
	if body != "" {
		r.Header.Set("Content-Type", "application/json")
	}
	if withCSRF {
		r.Header.Set("X-CSRF-Token", b.csrf)
	}
	for k, v := range h {
		r.Header.Set(k, v)
	}
	res, err := b.c.Do(r)
	if err != nil {
		b.x.t.Fatal(err)
	}
	b.x.t.Cleanup(func() { res.Body.Close() })
	return res
}

func (b *tab) signIn(key string) map[string]any {
	b.x.t.Helper()
	res := b.do("POST", "/api/session", `{"key":"`+key+`"}`, false, map[string]string{"Origin": b.x.url, "Sec-Fetch-Site": "same-origin"})
	var s map[string]any
	body := mustRead(b.x.t, res)
	if res.StatusCode != 200 {
		b.x.t.Fatalf("sign in: %d %s", res.StatusCode, body)
	}
	if err := json.Unmarshal(body, &s); err != nil {
		b.x.t.Fatal(err)
	}
	b.csrf, _ = s["csrf"].(string)
	sc := res.Header.Get("Set-Cookie")
	if !strings.HasPrefix(sc, "hub_session=") || strings.Contains(sc, key) ||
		!strings.HasSuffix(sc, "; Path=/; Max-Age=43200; HttpOnly; SameSite=Strict") {
		b.x.t.Errorf("Set-Cookie %q", sc)
	}
	return s
}

func mustRead(t *testing.T, res *http.Response) []byte {
	t.Helper()
	b, err := io.ReadAll(res.Body)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// wantError checks an OpenAI-shaped error with status and code.
func wantError(t *testing.T, res *http.Response, status int, code string) {
	t.Helper()
	body := mustRead(t, res)
	var e openAIError
	if res.StatusCode != status || json.Unmarshal(body, &e) != nil || e.Error.Message == "" || deref(e.Error.Code) != code {
		t.Errorf("%s %s: %d %s; want %d code %q", res.Request.Method, res.Request.URL.Path, res.StatusCode, body, status, code)
	}
}

func TestDashboardSessions(t *testing.T) {
	x := startDashboardHub(t, nil)
	admin := x.tab()
	s := admin.signIn(x.admin)
	if s["role"] != "admin" || s["account_name"] != "ops" || s["csrf"] == "" || !strings.HasPrefix(x.admin, s["key_prefix"].(string)) {
		t.Errorf("session %v", s)
	}

	// The session is the admin key on the admin API: reads need no token,
	// changes do.
	if res := admin.do("GET", "/api/admin/keys", "", false, nil); res.StatusCode != 200 {
		t.Errorf("GET /api/admin/keys: %d", res.StatusCode)
	}
	newKey := `{"name":"made-in-dashboard","account":"acme"}`
	wantError(t, admin.do("POST", "/api/admin/keys", newKey, false, nil), 403, "csrf_token_invalid")
	wantError(t, admin.do("POST", "/api/admin/keys", newKey, false, map[string]string{"X-CSRF-Token": "wrong"}), 403, "csrf_token_invalid")
	wantError(t, admin.do("POST", "/api/admin/keys", newKey, true, map[string]string{"Origin": "https://evil.example"}), 403, "cross_origin_request")
	res := admin.do("POST", "/api/admin/keys", newKey, true, map[string]string{"Origin": x.url})
	var created struct {
		Key string `json:"key"`
		ID  int64  `json:"id"`
	}
	if err := json.Unmarshal(mustRead(t, res), &created); res.StatusCode != 201 || err != nil || created.Key == "" {
		t.Fatalf("create a key with the session: %d %v", res.StatusCode, err)
	}
	// ... audited as the admin key.
	es, err := x.hub.Store().ListAudit(context.Background(), store.AuditFilter{Action: "key.create", Limit: 1})
	if err != nil || len(es) != 1 || !strings.HasPrefix(es[0].Actor, "key:") || es[0].Actor == "cli:test" {
		t.Errorf("audit %+v, %v", es, err)
	}
	// A key (no cookie) needs no CSRF token.
	bearer := &tab{x: x, c: http.DefaultClient}
	if res := bearer.do("POST", "/api/admin/keys", `{"name":"by-bearer"}`, false, map[string]string{"Authorization": "Bearer " + x.admin}); res.StatusCode != 201 {
		t.Errorf("bearer POST: %d", res.StatusCode)
	}

	// A user session: its own account only; the admin API refuses it.
	user := x.tab()
	us := user.signIn(x.user)
	if us["role"] != "user" || us["account_name"] != "acme" {
		t.Errorf("user session %v", us)
	}
	wantError(t, user.do("GET", "/api/admin/keys", "", false, nil), 403, "")
	if res := user.do("GET", "/api/account", "", false, nil); res.StatusCode != 200 {
		t.Errorf("GET /api/account: %d", res.StatusCode)
	}

	// Chat with the cookie, streamed: the call is the user key's, billed
	// and recorded; its record is readable at once by request ID.
	chat := `{"model":"gpt-4o-mini","stream":true,"messages":[{"role":"user","content":"Say hello in French."}]}`
	wantError(t, user.do("POST", "/v1/chat/completions", chat, false, nil), 403, "csrf_token_invalid")
	res = user.do("POST", "/v1/chat/completions", chat, true, nil)
	if res.StatusCode != 200 || !strings.HasPrefix(res.Header.Get("Content-Type"), "text/event-stream") {
		t.Fatalf("stream with the session: %d %s", res.StatusCode, mustRead(t, res))
	}
	events := sse(t, res.Body)
	if len(events) < 2 || events[len(events)-1] != "[DONE]" {
		t.Fatalf("events %q", events)
	}
	reqID := res.Header.Get("X-Request-Id")
	res = user.do("GET", "/api/calls/"+reqID, "", false, nil)
	var call manage.CallView
	if err := json.Unmarshal(mustRead(t, res), &call); res.StatusCode != 200 || err != nil {
		t.Fatalf("GET /api/calls/%s: %d %v", reqID, res.StatusCode, err)
	}
	if call.KeyID != x.userID || call.AccountID != x.userAcct || !call.Stream || call.Status != "ok" || call.Charged <= 0 ||
		call.Charged != call.PromptTokens*1+call.CompletionTokens*2 || call.CredentialID != 0 {
		t.Errorf("recorded call %+v", call)
	}
	// The admin session cannot see it as the user's, but as the admin.
	if res := admin.do("GET", "/api/calls/"+reqID, "", false, nil); res.StatusCode != 404 {
		t.Errorf("another account's call through the user API: %d", res.StatusCode)
	}
	if res := admin.do("GET", "/api/admin/calls/"+reqID, "", false, nil); res.StatusCode != 200 {
		t.Errorf("admin call: %d", res.StatusCode)
	}
	// The Anthropic surface takes the session too.
	res = user.do("POST", "/v1/messages", `{"model":"gpt-4o-mini","max_tokens":20,"messages":[{"role":"user","content":"hi"}]}`, true, nil)
	if res.StatusCode != 200 {
		t.Errorf("/v1/messages with the session: %d %s", res.StatusCode, mustRead(t, res))
	}

	// Plugins show their calls and pool.
	var plugins struct {
		Data []struct {
			Name      string `json:"name"`
			Calls     uint64 `json:"calls"`
			Instances int    `json:"instances"`
			PoolSize  int    `json:"pool_size"`
		} `json:"data"`
	}
	if err := json.Unmarshal(mustRead(t, admin.do("GET", "/api/admin/plugins", "", false, nil)), &plugins); err != nil || len(plugins.Data) == 0 {
		t.Fatalf("plugins %+v %v", plugins, err)
	}
	for _, p := range plugins.Data {
		if p.Name == "openai" && (p.Calls < 2 || p.Instances < 1 || p.PoolSize < 1) {
			t.Errorf("openai plugin %+v", p)
		}
	}

	// Revoking the user's key ends its session at once.
	if res := admin.do("DELETE", fmt.Sprintf("/api/admin/keys/%d", x.userID), "", true, nil); res.StatusCode != 204 {
		t.Fatalf("revoke: %d", res.StatusCode)
	}
	wantError(t, user.do("GET", "/api/session", "", false, nil), 401, "invalid_api_key")
	wantError(t, user.do("POST", "/v1/chat/completions", chat, true, nil), 401, "invalid_api_key")

	// Sign-out.
	wantError(t, admin.do("DELETE", "/api/session", "", false, nil), 403, "csrf_token_invalid")
	if res := admin.do("DELETE", "/api/session", "", true, nil); res.StatusCode != 204 {
		t.Errorf("sign out: %d", res.StatusCode)
	}
	wantError(t, admin.do("GET", "/api/admin/keys", "", false, nil), 401, "invalid_api_key") // the jar dropped the cookie
	wantError(t, x.tab().do("POST", "/api/session", `{"key":"sk-hub-nope"}`, false, nil), 401, "invalid_api_key")
}

func TestDashboardFiles(t *testing.T) {
	js := "export const x = " + strings.Repeat(`"dashboard"+`, 300) + `"";` + "\n"
	fsys := fstest.MapFS{
		"index.html":              {Data: []byte(`<!doctype html><script type="module" src="/assets/index-abc123.js"></script><div id="root"></div>`)},
		"assets/index-abc123.js":  {Data: []byte(js)},
		"assets/index-def456.css": {Data: []byte("body{}")},
		".gitkeep":                {},
	}
	x := startDashboardHub(t, fsys)
	get := func(path string, h map[string]string) *http.Response {
		t.Helper()
		r, _ := http.NewRequest("GET", x.url+path, nil)
		for k, v := range h {
			r.Header.Set(k, v)
		}
		tr := &http.Transport{DisableCompression: true}
		res, err := (&http.Client{Transport: tr}).Do(r)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { res.Body.Close() })
		return res
	}
	page := map[string]string{"Accept": "text/html,application/xhtml+xml,*/*;q=0.8"}
	for _, p := range []string{"/", "/calls", "/keys/12", "/overview?range=7d"} {
		res := get(p, page)
		body := mustRead(t, res)
		if res.StatusCode != 200 || string(body) != string(fsys["index.html"].Data) || res.Header.Get("Cache-Control") != "no-cache" ||
			!strings.Contains(res.Header.Get("Content-Security-Policy"), "default-src 'self'") || res.Header.Get("X-Frame-Options") != "DENY" ||
			res.Header.Get("X-Request-Id") == "" {
			t.Errorf("GET %s: %d %v %s", p, res.StatusCode, res.Header, body)
		}
	}
	res := get("/assets/index-abc123.js", map[string]string{"Accept-Encoding": "gzip"})
	if res.StatusCode != 200 || res.Header.Get("Cache-Control") != "public, max-age=31536000, immutable" ||
		res.Header.Get("Content-Type") != "text/javascript; charset=utf-8" || res.Header.Get("Content-Encoding") != "gzip" {
		t.Errorf("asset: %d %v", res.StatusCode, res.Header)
	}
	zr, err := gzip.NewReader(res.Body)
	if err != nil {
		t.Fatal(err)
	}
	if b, _ := io.ReadAll(zr); string(b) != js {
		t.Error("gzipped asset differs")
	}
	if res := get("/assets/index-abc123.js", map[string]string{"If-None-Match": res.Header.Get("ETag"), "Accept-Encoding": "gzip"}); res.StatusCode != 304 {
		t.Errorf("revalidation: %d", res.StatusCode)
	}
	// The hub's own paths keep their JSON 404s, even for a page request.
	for _, p := range []string{"/api/nope", "/v1/nope", "/assets/missing.js", "/api/admin/nope"} {
		res := get(p, page)
		if p == "/api/admin/nope" {
			wantError(t, res, 401, "invalid_api_key") // the admin API authenticates first
			continue
		}
		wantError(t, res, 404, "")
	}
	for _, p := range []string{"/healthz", "/readyz"} {
		if res := get(p, page); res.StatusCode != 200 || res.Header.Get("Content-Type") != "application/json" {
			t.Errorf("%s: %d %s", p, res.StatusCode, res.Header.Get("Content-Type"))
		}
	}
	r, _ := http.NewRequest("POST", x.url+"/calls", nil)
	r.Header.Set("Accept", "text/html")
	if res, err := http.DefaultClient.Do(r); err != nil || res.StatusCode != 404 {
		t.Errorf("POST to a page: %v %v", res, err)
	}
}

func TestDashboardNotBuilt(t *testing.T) {
	x := startDashboardHub(t, fstest.MapFS{".gitkeep": {}})
	res, err := http.Get(x.url + "/")
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	body := mustRead(t, res)
	if res.StatusCode != 200 || !strings.Contains(string(body), "make build") || !strings.HasPrefix(res.Header.Get("Content-Type"), "text/html") {
		t.Errorf("%d %s", res.StatusCode, body)
	}
}
