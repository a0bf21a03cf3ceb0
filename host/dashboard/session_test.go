package dashboard

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aignehub/hub/host/apierr"
	"github.com/aignehub/hub/host/auth"
	"github.com/aignehub/hub/store"
)

type sessionHub struct {
	t     *testing.T
	srv   *httptest.Server
	st    *store.Store
	admin string
	user  string
	clock *clock
}

type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) add(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

func newSessionHub(t *testing.T) *sessionHub {
	t.Helper()
	ctx := context.Background()
	st, err := store.Open(ctx, filepath.Join(t.TempDir(), "hub.db"), store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	a := auth.New(st, auth.Options{Sessions: st})
	x := &sessionHub{t: t, st: st, clock: &clock{t: time.Now()}}
	mk := func(account, role string) string {
		acct, err := st.EnsureAccount(ctx, account)
		if err != nil {
			t.Fatal(err)
		}
		key, hash, prefix := auth.Generate()
		if _, err := st.CreateAPIKey(ctx, store.APIKey{AccountID: acct.ID, Hash: hash, Prefix: prefix, Name: role, Role: role}); err != nil {
			t.Fatal(err)
		}
		return key
	}
	x.admin, x.user = mk("ops", store.RoleAdmin), mk("acme", store.RoleUser)
	mux := http.NewServeMux()
	mux.Handle(SessionPath, NewSessions(SessionOptions{Auth: a, Accounts: st, MaxFailures: 3, FailureWindow: time.Minute, Now: x.clock.now}))
	// A state-changing route that any key (or session) may use.
	mux.HandleFunc("/change", func(w http.ResponseWriter, r *http.Request) {
		k, err := a.Authenticate(r.Context(), r)
		if err != nil {
			apierr.WriteOpenAI(w, apierr.From(err))
			return
		}
		io.WriteString(w, k.Role)
	})
	x.srv = httptest.NewServer(mux)
	t.Cleanup(x.srv.Close)
	return x
}

func (x *sessionHub) do(method, path, body string, h map[string]string, cookies ...*http.Cookie) *http.Response {
	x.t.Helper()
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	r, err := http.NewRequest(method, x.srv.URL+path, rd)
	if err != nil {
		x.t.Fatal(err)
	}
	for k, v := range h {
		r.Header.Set(k, v)
	}
	for _, c := range cookies {
		r.AddCookie(c)
	}
	res, err := x.srv.Client().Do(r)
	if err != nil {
		x.t.Fatal(err)
	}
	x.t.Cleanup(func() { res.Body.Close() })
	return res
}

func readBody(t *testing.T, res *http.Response) string {
	t.Helper()
	b, err := io.ReadAll(res.Body)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// errCode is the code of an OpenAI-shaped error body.
func errCode(t *testing.T, res *http.Response, status int) string {
	t.Helper()
	body := readBody(t, res)
	if res.StatusCode != status {
		t.Fatalf("status %d, want %d: %s", res.StatusCode, status, body)
	}
	var e struct {
		Error struct {
			Message string  `json:"message"`
			Type    string  `json:"type"`
			Code    *string `json:"code"`
		} `json:"error"`
	}
	if err := json.Unmarshal([]byte(body), &e); err != nil || e.Error.Message == "" || e.Error.Type == "" {
		t.Fatalf("not an OpenAI error: %s", body)
	}
	if res.Header.Get("Content-Type") != "application/json" {
		t.Errorf("Content-Type %q", res.Header.Get("Content-Type"))
	}
	if e.Error.Code == nil {
		return ""
	}
	return *e.Error.Code
}

func TestSessionAPI(t *testing.T) {
	x := newSessionHub(t)
	signIn := func(key string) (*http.Cookie, SessionBody) {
		t.Helper()
		res := x.do("POST", SessionPath, `{"key":"`+key+`"}`, map[string]string{"Content-Type": "application/json"})
		body := readBody(t, res)
		if res.StatusCode != 200 {
			t.Fatalf("sign in: %d %s", res.StatusCode, body)
		}
		if strings.Contains(body, key) {
			t.Errorf("the answer holds the key: %s", body)
		}
		var s SessionBody
		if err := json.Unmarshal([]byte(body), &s); err != nil {
			t.Fatal(err)
		}
		sc := res.Header.Values("Set-Cookie")
		if len(sc) != 1 {
			t.Fatalf("Set-Cookie %q", sc)
		}
		parts := strings.Split(sc[0], "; ")
		name, value, _ := strings.Cut(parts[0], "=")
		if name != "hub_session" || value == "" || strings.Contains(value, key) || strings.Contains(key, value) {
			t.Errorf("cookie %q", sc[0])
		}
		if got := strings.Join(parts[1:], "; "); got != "Path=/; Max-Age=43200; HttpOnly; SameSite=Strict" {
			t.Errorf("cookie attributes %q", got)
		}
		if res.Header.Get("Cache-Control") != "no-store" {
			t.Errorf("Cache-Control %q", res.Header.Get("Cache-Control"))
		}
		return &http.Cookie{Name: name, Value: value}, s
	}

	cookie, s := signIn(x.admin)
	if s.Role != "admin" || s.AccountName != "ops" || s.AccountID == 0 || s.KeyID == 0 || !strings.HasPrefix(x.admin, s.KeyPrefix) ||
		len(s.KeyPrefix) != auth.DisplayPrefixLen || s.CSRF == "" || time.Until(s.ExpiresAt) < 11*time.Hour {
		t.Errorf("session %+v", s)
	}
	_, us := signIn(x.user)
	if us.Role != "user" || us.AccountName != "acme" || us.AccountID == s.AccountID {
		t.Errorf("user session %+v", us)
	}

	// GET shows the session, with the same CSRF token.
	res := x.do("GET", SessionPath, "", nil, cookie)
	var again SessionBody
	if err := json.Unmarshal([]byte(readBody(t, res)), &again); err != nil || res.StatusCode != 200 || again != s {
		t.Errorf("GET: %d %+v, want %+v", res.StatusCode, again, s)
	}
	if code := errCode(t, x.do("GET", SessionPath, "", nil), 401); code != "invalid_api_key" && code != "invalid_session" {
		t.Errorf("GET without a cookie: code %q", code)
	}

	// The cookie authenticates; a change needs the CSRF token.
	if code := errCode(t, x.do("POST", "/change", "", nil, cookie), 403); code != "csrf_token_invalid" {
		t.Errorf("POST without the CSRF token: %q", code)
	}
	if res := x.do("POST", "/change", "", map[string]string{auth.CSRFHeader: s.CSRF}, cookie); res.StatusCode != 200 || readBody(t, res) != "admin" {
		t.Errorf("POST with the CSRF token: %d", res.StatusCode)
	}

	// Sign-in failures.
	for _, tc := range []struct {
		name, body string
		h          map[string]string
		status     int
		code       string
	}{
		{"empty body", "", nil, 400, ""},
		{"not JSON", "key=sk-hub-x", nil, 400, ""},
		{"unknown field", `{"key":"x","role":"admin"}`, nil, 400, ""},
		{"no key", `{}`, nil, 400, ""},
		{"trailing data", `{"key":"a"} {}`, nil, 400, ""},
		{"cross-origin", `{"key":"` + x.admin + `"}`, map[string]string{"Origin": "https://evil.example"}, 403, "cross_origin_request"},
		{"cross-site fetch", `{"key":"` + x.admin + `"}`, map[string]string{"Sec-Fetch-Site": "cross-site"}, 403, "cross_origin_request"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if code := errCode(t, x.do("POST", SessionPath, tc.body, tc.h), tc.status); code != tc.code {
				t.Errorf("code %q, want %q", code, tc.code)
			}
		})
	}
	if code := errCode(t, x.do("PUT", SessionPath, "", nil), 405); code != "method_not_allowed" {
		t.Errorf("PUT: %q", code)
	}

	// Sign-out: needs the CSRF token, then clears the cookie.
	if code := errCode(t, x.do("DELETE", SessionPath, "", nil, cookie), 403); code != "csrf_token_invalid" {
		t.Errorf("DELETE without the token: %q", code)
	}
	res = x.do("DELETE", SessionPath, "", map[string]string{auth.CSRFHeader: s.CSRF}, cookie)
	if res.StatusCode != 204 || res.Header.Get("Set-Cookie") != "hub_session=; Path=/; Max-Age=0; HttpOnly; SameSite=Strict" {
		t.Errorf("DELETE: %d, Set-Cookie %q", res.StatusCode, res.Header.Get("Set-Cookie"))
	}
	if code := errCode(t, x.do("GET", SessionPath, "", nil, cookie), 401); code != "invalid_session" {
		t.Errorf("GET after sign-out: %q", code)
	}
	// Signing out again (a dead session) just clears the cookie.
	if res := x.do("DELETE", SessionPath, "", nil, cookie); res.StatusCode != 204 {
		t.Errorf("second DELETE: %d", res.StatusCode)
	}
}

func TestSignInLimit(t *testing.T) {
	x := newSessionHub(t)
	bad := `{"key":"sk-hub-AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"}`
	for i := range 3 {
		if code := errCode(t, x.do("POST", SessionPath, bad, nil), 401); code != "invalid_api_key" {
			t.Fatalf("failure %d: %q", i, code)
		}
	}
	// Past the limit even the right key is refused, until the window ends.
	res := x.do("POST", SessionPath, `{"key":"`+x.admin+`"}`, nil)
	if code := errCode(t, res, 429); code != "too_many_sign_in_failures" || res.Header.Get("Retry-After") == "" {
		t.Errorf("code %q, Retry-After %q", code, res.Header.Get("Retry-After"))
	}
	x.clock.add(time.Minute)
	if res := x.do("POST", SessionPath, `{"key":"`+x.admin+`"}`, nil); res.StatusCode != 200 {
		t.Errorf("after the window: %d %s", res.StatusCode, readBody(t, res))
	}
	// Malformed requests are not failures of a key.
	for range 5 {
		x.do("POST", SessionPath, `{}`, nil)
	}
	if res := x.do("POST", SessionPath, `{"key":"`+x.user+`"}`, nil); res.StatusCode != 200 {
		t.Errorf("bad requests counted as failed sign-ins: %d", res.StatusCode)
	}
}

func TestClientIP(t *testing.T) {
	for in, want := range map[string]string{
		"192.0.2.1:1234":            "192.0.2.1",
		"[2001:db8:1:2:3::4]:443":   "2001:db8:1:2::/64",
		"[2001:db8:1:2:ffff::]:443": "2001:db8:1:2::/64",
		"weird":                     "weird",
	} {
		r := httptest.NewRequest("GET", "/", nil)
		r.RemoteAddr = in
		if got := clientIP(r); got != want {
			t.Errorf("clientIP(%q) = %q, want %q", in, got, want)
		}
	}
}

// FuzzSignInBody checks that the sign-in body parser takes exactly one
// JSON object with a non-empty key, and never quotes the body (which holds
// a key) in its errors.
func FuzzSignInBody(f *testing.F) {
	for _, s := range []string{`{"key":"sk-hub-abc"}`, `{}`, `{"key":""}`, `{"key":1}`, `{"key":"a"}{}`, `[`, `{"key":"sk-hub-secret","x":1}`, ``} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, body string) {
		r := httptest.NewRequest("POST", SessionPath, strings.NewReader(body))
		var v struct {
			Key string `json:"key"`
		}
		err := decodeSignIn(httptest.NewRecorder(), r, &v)
		if err == nil {
			if v.Key == "" {
				t.Fatalf("accepted %q without a key", body)
			}
			return
		}
		// The messages are fixed text: none has room for the body.
		msg := strings.ReplaceAll(err.Error(), `{"key":"sk-hub-…"}`, "")
		if len(body) >= 8 && strings.Contains(msg, body) {
			t.Fatalf("error quotes the body: %v", err)
		}
	})
}

// TestFailLimiterConcurrent hammers the limiter from many goroutines (run
// with -race): every failure is counted once.
func TestFailLimiterConcurrent(t *testing.T) {
	now := time.Now()
	l := &failLimiter{max: 1000, window: time.Hour, now: func() time.Time { return now }, ips: map[string]*failures{}}
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 100 {
				ip := []string{"a", "b"}[(g+i)%2]
				l.fail(ip)
				l.blocked(ip)
			}
		}()
	}
	wg.Wait()
	if l.ips["a"].n+l.ips["b"].n != 800 {
		t.Errorf("counted %d + %d failures, want 800", l.ips["a"].n, l.ips["b"].n)
	}
	if l.blocked("a") != 0 {
		t.Error("blocked below the limit")
	}
	for range 600 {
		l.fail("a")
	}
	if l.blocked("a") != time.Hour {
		t.Errorf("blocked %v past the limit, want the window", l.blocked("a"))
	}
}
