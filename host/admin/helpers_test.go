package admin

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aignehub/hub/host/auth"
	"github.com/aignehub/hub/host/limits"
	"github.com/aignehub/hub/host/manage"
	"github.com/aignehub/hub/host/proxy"
	"github.com/aignehub/hub/host/secrets"
	"github.com/aignehub/hub/store"
)

func noEnv(string) (string, bool) { return "", false }

// fakeRuntime stands in for host/app.
type fakeRuntime struct {
	mu      sync.Mutex
	tested  []int64
	unknown map[int64]bool // credentials TestCredential does not know
}

var _ Runtime = (*fakeRuntime)(nil)

func (f *fakeRuntime) ProviderStates() []proxy.ProviderState {
	until := time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC)
	return []proxy.ProviderState{{
		Name:   "oa",
		Status: "active",
		Models: []string{"gpt-4o"},
		Credentials: []proxy.CredentialState{
			{ID: 1, Name: "oa-1", Hint: "****abcd", Weight: 1, Status: "cooling_down", Reason: "rate limited (429)", CoolingUntil: &until},
			{ID: 2, Name: "oa-2", Weight: 2, Status: "broken", Reason: "cannot decrypt the secret"},
		},
	}}
}

func (f *fakeRuntime) TestCredential(_ context.Context, id int64) (proxy.CheckResult, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.unknown[id] {
		return proxy.CheckResult{}, fmt.Errorf("credential %d is not routed: %w", id, store.ErrNotFound)
	}
	f.tested = append(f.tested, id)
	return proxy.CheckResult{OK: false, Status: 401, Method: "models", Latency: 12 * time.Millisecond,
		Error: "Incorrect API key provided.", ErrorType: "authentication_error"}, nil
}

func (f *fakeRuntime) testedIDs() []int64 {
	f.mu.Lock()
	defer f.mu.Unlock()
	return slices.Clone(f.tested)
}

// forget makes TestCredential answer that id is not routed.
func (f *fakeRuntime) forget(id int64) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.unknown[id] = true
}

func (f *fakeRuntime) Plugins() []PluginInfo {
	return []PluginInfo{{Name: "openai", Kind: "provider", Version: "1.0.0", SHA256: strings.Repeat("ab", 32), Source: "builtin:openai",
		APIs: []string{"chat.completions", "models"}, Auth: "bearer", StreamFraming: "sse", Trusted: true, PoolSize: 4, Providers: []string{"oa"}}}
}

func (f *fakeRuntime) KeyUsage(int64) limits.Snapshot {
	return limits.Snapshot{Requests: 3, Tokens: 120, InFlight: 1}
}

// hub is an admin API under test: a real store, keyring, authenticator
// and Service behind a real HTTP server.
type hub struct {
	t        *testing.T
	h        *Handler
	srv      *httptest.Server
	userSrv  *httptest.Server // the user API
	auth     *auth.Authenticator
	st       *store.Store
	svc      *manage.Service
	kr       *secrets.Keyring
	rt       *fakeRuntime
	dbPath   string
	logs     *syncBuffer
	admin    string // an admin key
	adminKey manage.KeyView
	user     string // a user key
	userKey  manage.KeyView
}

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

type hubOpts struct {
	noRuntime bool
	maxBody   int64
}

func newHub(t *testing.T, o hubOpts) *hub {
	t.Helper()
	dir := t.TempDir()
	x := &hub{t: t, dbPath: filepath.Join(dir, "hub.db"), logs: &syncBuffer{}}
	st, err := store.Open(context.Background(), x.dbPath, store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	x.st = st
	if x.kr, err = secrets.Load(dir, noEnv); err != nil {
		t.Fatal(err)
	}
	a := auth.New(st, auth.Options{})
	x.svc = manage.New(manage.Options{Store: st, Keyring: x.kr, KeysChanged: a.Purge})
	x.rt = &fakeRuntime{unknown: map[int64]bool{}}
	opts := Options{Auth: a, Manage: x.svc, Runtime: x.rt, MaxBody: o.maxBody,
		Logger: slog.New(slog.NewTextHandler(x.logs, nil))}
	if o.noRuntime {
		opts.Runtime = nil
	}
	x.h = New(opts)
	x.srv = httptest.NewServer(x.h)
	t.Cleanup(x.srv.Close)
	x.auth = a
	x.userSrv = httptest.NewServer(NewUser(opts))
	t.Cleanup(x.userSrv.Close)

	cli := store.WithActor(context.Background(), store.Actor{Name: "cli:test"})
	if x.admin, x.adminKey, err = x.svc.CreateKey(cli, manage.KeySpec{Name: "root", Role: store.RoleAdmin}); err != nil {
		t.Fatal(err)
	}
	if x.user, x.userKey, err = x.svc.CreateKey(cli, manage.KeySpec{Name: "app", Account: "acme"}); err != nil {
		t.Fatal(err)
	}
	return x
}

// actor is the audit actor of the hub's admin key.
func (x *hub) actor() string {
	return fmt.Sprintf("key:%d:%s", x.adminKey.ID, x.adminKey.Prefix)
}

// response is an answer of the API.
type response struct {
	status int
	header http.Header
	body   []byte
}

// do sends method path with the given key ("" for none) and body (a
// string is sent as is, anything else as JSON; nil for none).
func (x *hub) do(method, path, key string, body any) response {
	x.t.Helper()
	return x.doOn(x.srv, method, path, key, body)
}

// doUser is do on the user API.
func (x *hub) doUser(method, path, key string, body any) response {
	x.t.Helper()
	return x.doOn(x.userSrv, method, path, key, body)
}

func (x *hub) doOn(srv *httptest.Server, method, path, key string, body any) response {
	x.t.Helper()
	var rd io.Reader
	switch b := body.(type) {
	case nil:
	case string:
		rd = strings.NewReader(b)
	case []byte:
		rd = bytes.NewReader(b)
	default:
		j, err := json.Marshal(b)
		if err != nil {
			x.t.Fatal(err)
		}
		rd = bytes.NewReader(j)
	}
	req, err := http.NewRequest(method, srv.URL+path, rd)
	if err != nil {
		x.t.Fatal(err)
	}
	if key != "" {
		req.Header.Set("Authorization", "Bearer "+key)
	}
	if rd != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	res, err := srv.Client().Do(req)
	if err != nil {
		x.t.Fatal(err)
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	if err != nil {
		x.t.Fatal(err)
	}
	return response{status: res.StatusCode, header: res.Header, body: b}
}

// ok fails unless r has status want, and decodes its body into v (if not
// nil).
func (r response) ok(t *testing.T, want int, v any) {
	t.Helper()
	if r.status != want {
		t.Fatalf("status %d, want %d: %s", r.status, want, r.body)
	}
	if v != nil {
		if ct := r.header.Get("Content-Type"); ct != "application/json" {
			t.Errorf("Content-Type %q", ct)
		}
		if err := json.Unmarshal(r.body, v); err != nil {
			t.Fatalf("decode %s: %v", r.body, err)
		}
	}
}

// apiError is the OpenAI error shape.
type apiErrorBody struct {
	Error struct {
		Message string  `json:"message"`
		Type    string  `json:"type"`
		Param   *string `json:"param"`
		Code    *string `json:"code"`
	} `json:"error"`
}

// fails fails unless r is an OpenAI-shaped error with the given status,
// type, param and code ("" for null).
func (r response) fails(t *testing.T, status int, typ, param, code string) apiErrorBody {
	t.Helper()
	if r.status != status {
		t.Fatalf("status %d, want %d: %s", r.status, status, r.body)
	}
	var e apiErrorBody
	dec := json.NewDecoder(bytes.NewReader(r.body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&e); err != nil {
		t.Fatalf("error body %s: %v", r.body, err)
	}
	str := func(p *string) string {
		if p == nil {
			return ""
		}
		return *p
	}
	if e.Error.Type != typ || str(e.Error.Param) != param || str(e.Error.Code) != code || e.Error.Message == "" {
		t.Fatalf("error = %s; want type %q param %q code %q", r.body, typ, param, code)
	}
	if (param == "") != (e.Error.Param == nil) || (code == "") != (e.Error.Code == nil) {
		t.Errorf("empty param/code must be null: %s", r.body)
	}
	if ct := r.header.Get("Content-Type"); ct != "application/json" {
		t.Errorf("Content-Type %q", ct)
	}
	return e
}

// recordCalls writes calls through a real recorder (which also updates
// the usage rollups) and waits for them.
func recordCalls(t *testing.T, st *store.Store, calls ...store.Call) {
	t.Helper()
	rec := store.NewRecorder(st, store.RecorderOptions{})
	for _, c := range calls {
		if err := rec.Record(c); err != nil {
			t.Fatal(err)
		}
	}
	if err := rec.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	if s := rec.Stats(); s.Recorded != uint64(len(calls)) {
		t.Fatalf("recorder stats %+v", s)
	}
}
