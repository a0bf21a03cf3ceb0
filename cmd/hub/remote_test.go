package main

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
)

// fakeAdmin is an httptest server that answers the admin API routes the
// CLI calls, and records the requests.
type fakeAdmin struct {
	*httptest.Server
	mu       sync.Mutex
	requests []string // "METHOD PATH Authorization"
}

const testAdminKey = "sk-hub-TestAdminKey0123456789"

func newFakeAdmin(t *testing.T) *fakeAdmin {
	f := &fakeAdmin{}
	mux := http.NewServeMux()
	reply := func(w http.ResponseWriter, status int, body string) {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(status)
		fmt.Fprint(w, body)
	}
	auth := func(h http.HandlerFunc) http.HandlerFunc {
		return func(w http.ResponseWriter, r *http.Request) {
			f.mu.Lock()
			f.requests = append(f.requests, r.Method+" "+r.URL.Path+" "+r.Header.Get("Authorization"))
			f.mu.Unlock()
			if r.Header.Get("Authorization") != "Bearer "+testAdminKey {
				reply(w, 401, `{"error":{"message":"Invalid API key.","type":"authentication_error","code":"invalid_api_key"}}`)
				return
			}
			h(w, r)
		}
	}
	mux.HandleFunc("GET /api/admin/plugins", auth(func(w http.ResponseWriter, r *http.Request) {
		reply(w, 200, `{"data":[{"name":"openai","kind":"provider","version":"1.2.0","sha256":"0123456789abcdef0123","source":"builtin:openai",
			"apis":["chat","models"],"auth":"bearer","stream_framing":"sse","trusted":true,"pool_size":4,"providers":["oa","ds"]}]}`)
	}))
	mux.HandleFunc("GET /api/admin/state", auth(func(w http.ResponseWriter, r *http.Request) {
		reply(w, 200, `{"data":[{"name":"oa","status":"cooling_down","cooling_until":"2030-01-01T00:00:00Z","consecutive_failures":3,
			"last_error":"upstream 503","models":["gpt-4o"],"credentials":[
			{"id":7,"name":"oa-1","hint":"****abcd","weight":2,"status":"disabled","reason":"upstream 401","successes":5,"failures":1},
			{"id":8,"name":"oa-2","weight":1,"status":"active","successes":9,"failures":0}]}]}`)
	}))
	mux.HandleFunc("POST /api/admin/providers/oa/credentials/7/test", auth(func(w http.ResponseWriter, r *http.Request) {
		reply(w, 200, `{"ok":true,"status":200,"method":"models","latency_ns":12000000}`)
	}))
	mux.HandleFunc("POST /api/admin/providers/oa/credentials/8/test", auth(func(w http.ResponseWriter, r *http.Request) {
		reply(w, 200, `{"ok":false,"status":401,"method":"models","latency_ns":5000000,"error":"Incorrect API key provided.","error_type":"authentication_error"}`)
	}))
	mux.HandleFunc("POST /api/admin/providers/oa/credentials/9/test", auth(func(w http.ResponseWriter, r *http.Request) {
		reply(w, 404, `{"error":{"message":"credential 9 is not in rotation (disabled)","type":"invalid_request_error","code":"not_found"}}`)
	}))
	mux.HandleFunc("/", auth(func(w http.ResponseWriter, r *http.Request) {
		reply(w, 404, `{"error":{"message":"no such thing","type":"invalid_request_error","code":"not_found"}}`)
	}))
	f.Server = httptest.NewServer(mux)
	t.Cleanup(f.Close)
	return f
}

func (f *fakeAdmin) last() string {
	f.mu.Lock()
	defer f.mu.Unlock()
	if len(f.requests) == 0 {
		return ""
	}
	return f.requests[len(f.requests)-1]
}

func TestRemoteCommands(t *testing.T) {
	noMasterKeyEnv(t)
	f := newFakeAdmin(t)
	cfg := writeConfig(t)

	// Without HUB_ADMIN_KEY: an explanation, no request.
	wantExit(t, 1, []string{"HUB_ADMIN_KEY is not set", "--role admin"}, "state", "--hub", f.URL, "-config", cfg)
	if f.last() != "" {
		t.Fatalf("a request was sent without a key: %s", f.last())
	}
	t.Setenv(EnvAdminKey, testAdminKey)

	out := mustHub(t, "plugins", "list", "--hub", f.URL, "-config", cfg)
	if f.last() != "GET /api/admin/plugins Bearer "+testAdminKey {
		t.Errorf("request: %q", f.last())
	}
	for _, want := range []string{"NAME", "openai", "1.2.0", "builtin:openai", "oa,ds", "chat,models", "0123456789ab…"} {
		if !strings.Contains(out, want) {
			t.Errorf("plugins list lacks %q:\n%s", want, out)
		}
	}
	var plugins []pluginInfo
	decode(t, mustHub(t, "plugins", "-json", "--hub", f.URL+"/"), &plugins)
	if len(plugins) != 1 || plugins[0].Name != "openai" || plugins[0].PoolSize != 4 || !plugins[0].Trusted {
		t.Errorf("plugins -json: %+v", plugins)
	}

	out = mustHub(t, "state", "--hub", f.URL)
	if f.last() != "GET /api/admin/state Bearer "+testAdminKey {
		t.Errorf("request: %q", f.last())
	}
	for _, want := range []string{"cooling_down", "3 failures in a row", "upstream 503", "oa-1", "disabled", "upstream 401", "****abcd", "oa-2", "active"} {
		if !strings.Contains(out, want) {
			t.Errorf("state lacks %q:\n%s", want, out)
		}
	}
	var states []providerState
	decode(t, mustHub(t, "state", "-json", "--hub", f.URL), &states)
	if len(states) != 1 || len(states[0].Credentials) != 2 || states[0].Credentials[0].Reason != "upstream 401" {
		t.Errorf("state -json: %+v", states)
	}

	out = mustHub(t, "credentials", "test", "oa", "7", "--hub", f.URL)
	if f.last() != "POST /api/admin/providers/oa/credentials/7/test Bearer "+testAdminKey {
		t.Errorf("request: %q", f.last())
	}
	if !strings.HasPrefix(out, "ok:") || !strings.Contains(out, "HTTP 200") || !strings.Contains(out, "12ms") {
		t.Errorf("test ok: %s", out)
	}
	var res checkResult
	decode(t, mustHub(t, "credentials", "test", "oa", "7", "-json", "--hub", f.URL), &res)
	if !res.OK || res.Status != 200 || res.Method != "models" {
		t.Errorf("test -json: %+v", res)
	}
	// A failed test prints why and exits 1.
	code, out, errs := hub(t, "credentials", "test", "oa", "8", "--hub", f.URL)
	if code != 1 || !strings.HasPrefix(out, "failed:") || !strings.Contains(out, "Incorrect API key") || !strings.Contains(errs, "failed its test") {
		t.Errorf("test failed: %d %s %s", code, out, errs)
	}
	// An API error shows the API's message.
	wantExit(t, 1, []string{"hub credentials test: the hub answered 404", "not in rotation"}, "credentials", "test", "oa", "9", "--hub", f.URL)

	// A wrong key: the hub's 401, explained.
	t.Setenv(EnvAdminKey, "sk-hub-wrong")
	wantExit(t, 1, []string{"401", "Invalid API key"}, "plugins", "list", "--hub", f.URL)
	t.Setenv(EnvAdminKey, testAdminKey)

	// Without --hub, the URL comes from the config's listen address.
	listen := strings.TrimPrefix(f.URL, "http://")
	withListen := filepath.Join(t.TempDir(), "hub.toml")
	b, err := os.ReadFile(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(withListen, append([]byte(fmt.Sprintf("listen = %q\n", listen)), b...), 0o600); err != nil {
		t.Fatal(err)
	}
	mustHub(t, "state", "-config", withListen)
	if f.last() != "GET /api/admin/state Bearer "+testAdminKey {
		t.Errorf("request: %q", f.last())
	}

	// A credential named instead of numbered is looked up in the database.
	mustHub(t, "providers", "add", "--name", "oa", "--plugin", "openai", "--base-url", "http://127.0.0.1:9/v1", "-config", withListen)
	var cr struct{ ID int64 }
	decode(t, mustHub(t, "credentials", "add", "oa", "--name", "main", "--no-secret", "-json", "-config", withListen), &cr)
	hub(t, "credentials", "test", "oa", "main", "-config", withListen) // the fake knows no such credential
	if want := fmt.Sprintf("POST /api/admin/providers/oa/credentials/%d/test Bearer %s", cr.ID, testAdminKey); f.last() != want {
		t.Errorf("test by name: %q, want %q", f.last(), want)
	}

	// Nobody listening.
	f.Close()
	wantExit(t, 1, []string{"is it running at " + f.URL}, "state", "--hub", f.URL)
	wantExit(t, 1, []string{"http:// or https://"}, "state", "--hub", "localhost:1")
	wantExit(t, 2, []string{"want PROVIDER ID|NAME"}, "credentials", "test", "oa", "--hub", f.URL)
}

func TestHubURL(t *testing.T) {
	tests := []struct{ listen, want string }{
		{"127.0.0.1:8080", "http://127.0.0.1:8080"},
		{":8080", "http://127.0.0.1:8080"},
		{"0.0.0.0:9000", "http://127.0.0.1:9000"},
		{"[::]:9000", "http://127.0.0.1:9000"},
		{"[::1]:9000", "http://[::1]:9000"},
		{"hub.internal:80", "http://hub.internal:80"},
	}
	for _, tt := range tests {
		if got, err := hubURL(tt.listen); err != nil || got != tt.want {
			t.Errorf("hubURL(%q) = %q, %v; want %q", tt.listen, got, err, tt.want)
		}
	}
	for _, bad := range []string{"", "8080", "127.0.0.1:0", "127.0.0.1:"} {
		if got, err := hubURL(bad); err == nil {
			t.Errorf("hubURL(%q) = %q, want an error", bad, got)
		}
	}
}

// TestRemoteAnswerShapes checks that the client reads both a {"data":…}
// envelope and a bare object, and reports a non-JSON error body.
func TestRemoteAnswerShapes(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/data":
			fmt.Fprint(w, `{"data":[1,2]}`)
		case "/bare":
			fmt.Fprint(w, `{"ok":true}`)
		case "/html":
			w.WriteHeader(502)
			fmt.Fprint(w, "<html>bad gateway</html>")
		default:
			fmt.Fprint(w, "not json")
		}
	}))
	defer srv.Close()
	c := &adminClient{base: srv.URL, key: "k", http: srv.Client()}
	for path, want := range map[string]string{"/data": "[1,2]", "/bare": `{"ok":true}`} {
		raw, err := c.call(t.Context(), "GET", path)
		if err != nil || string(raw) != want {
			t.Errorf("%s: %s, %v; want %s", path, raw, err, want)
		}
	}
	if _, err := c.call(t.Context(), "GET", "/html"); err == nil || !strings.Contains(err.Error(), "502") || !strings.Contains(err.Error(), "bad gateway") {
		t.Errorf("/html: %v", err)
	}
	if _, err := c.call(t.Context(), "GET", "/other"); err == nil || !strings.Contains(err.Error(), "not JSON") {
		t.Errorf("/other: %v", err)
	}
}
