package auth

import (
	"context"
	"crypto/tls"
	"errors"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aignehub/hub/host/apierr"
	"github.com/aignehub/hub/store"
)

// withCookie returns a request of method carrying the session token and
// the given headers.
func withCookie(method, token string, h map[string]string) *http.Request {
	r, _ := http.NewRequest(method, "http://hub.test/v1/chat/completions", nil)
	r.Host = "hub.test"
	if token != "" {
		r.AddCookie(&http.Cookie{Name: SessionCookie, Value: token})
	}
	for k, v := range h {
		r.Header.Set(k, v)
	}
	return r
}

// status is err's HTTP status and code, 0 for nil.
func status(err error) (int, string) {
	if err == nil {
		return 0, ""
	}
	var e *apierr.Error
	if !errors.As(err, &e) {
		return -1, err.Error()
	}
	return e.Status, e.Code
}

func TestSessions(t *testing.T) {
	st := newStore(t)
	var now atomic.Pointer[time.Time]
	t0 := time.Now()
	now.Store(&t0)
	a := New(st, Options{Sessions: st, SessionTTL: time.Hour, Now: func() time.Time { return *now.Load() }})
	ctx := context.Background()
	key, k := createKey(t, st, time.Time{})

	if _, _, err := a.SignIn(ctx, "sk-hub-wrong"); func() int { s, _ := status(err); return s }() != 401 {
		t.Fatalf("sign in with a wrong key: %v", err)
	}
	token, s, err := a.SignIn(ctx, key)
	if err != nil {
		t.Fatal(err)
	}
	if token == key || strings.Contains(token, key) || len(token) != tokenLen || s.Key.ID != k.ID || len(s.CSRF) != tokenLen || s.CSRF == token {
		t.Fatalf("token %q, session %+v", token, s)
	}
	if !s.ExpiresAt.Equal(time.UnixMilli(t0.Add(time.Hour).UnixMilli())) {
		t.Errorf("expires %v, want an hour from now", s.ExpiresAt)
	}
	// Only the token's hash is stored.
	if _, _, err := st.SessionByHash(ctx, Hash(token)); err != nil {
		t.Fatalf("session not stored by its hash: %v", err)
	}

	csrf := map[string]string{CSRFHeader: s.CSRF}
	for _, tt := range []struct {
		name   string
		r      *http.Request
		status int
		code   string
	}{
		{"GET needs no token", withCookie("GET", token, nil), 0, ""},
		{"POST with the token", withCookie("POST", token, csrf), 0, ""},
		{"POST without the token", withCookie("POST", token, nil), 403, "csrf_token_invalid"},
		{"POST with a wrong token", withCookie("POST", token, map[string]string{CSRFHeader: s.CSRF[:42] + "x"}), 403, "csrf_token_invalid"},
		{"DELETE without the token", withCookie("DELETE", token, nil), 403, "csrf_token_invalid"},
		{"same origin", withCookie("POST", token, map[string]string{CSRFHeader: s.CSRF, "Origin": "http://hub.test"}), 0, ""},
		{"cross origin", withCookie("POST", token, map[string]string{CSRFHeader: s.CSRF, "Origin": "https://evil.test"}), 403, "cross_origin_request"},
		{"cross site fetch", withCookie("POST", token, map[string]string{CSRFHeader: s.CSRF, "Sec-Fetch-Site": "cross-site"}), 403, "cross_origin_request"},
		{"same-site is not same-origin", withCookie("PATCH", token, map[string]string{CSRFHeader: s.CSRF, "Sec-Fetch-Site": "same-site"}), 403, "cross_origin_request"},
		{"same-origin fetch", withCookie("PATCH", token, map[string]string{CSRFHeader: s.CSRF, "Sec-Fetch-Site": "same-origin"}), 0, ""},
		{"unknown token", withCookie("GET", strings.Repeat("A", tokenLen), nil), 401, "invalid_session"},
		{"malformed token", withCookie("GET", "not a token", nil), 401, "invalid_api_key"},
		{"a key wins over the cookie", withCookie("POST", token, map[string]string{"Authorization": "Bearer sk-hub-wrong-key-xxxxxxxxxxxxxxx"}), 401, "invalid_api_key"},
		{"a key needs no CSRF token", withCookie("POST", "", map[string]string{"Authorization": "Bearer " + key}), 0, ""},
	} {
		t.Run(tt.name, func(t *testing.T) {
			got, err := a.Authenticate(ctx, tt.r)
			if s, c := status(err); s != tt.status || c != tt.code {
				t.Fatalf("Authenticate: %d %q (%v), want %d %q", s, c, err, tt.status, tt.code)
			}
			if err == nil && got.ID != k.ID {
				t.Errorf("acts as key %d, want %d", got.ID, k.ID)
			}
		})
	}
	if !HasCredentials(withCookie("GET", token, nil)) || HasCredentials(withCookie("GET", "", nil)) {
		t.Error("HasCredentials")
	}

	// Expiry: the session ends after its TTL.
	later := t0.Add(time.Hour + time.Second)
	now.Store(&later)
	if _, err := a.Session(ctx, withCookie("GET", token, nil)); func() int { s, _ := status(err); return s }() != 401 {
		t.Errorf("expired session: %v", err)
	}
	now.Store(&t0)

	// Revoking the key ends its session at once.
	if err := st.RevokeAPIKey(ctx, k.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := a.Authenticate(ctx, withCookie("GET", token, nil)); func() int { s, _ := status(err); return s }() != 401 {
		t.Errorf("session of a revoked key: %v", err)
	}

	// Sign-out deletes the session.
	key2, _ := createKey(t, st, time.Time{})
	token2, _, err := a.SignIn(ctx, key2)
	if err != nil {
		t.Fatal(err)
	}
	if err := a.SignOut(ctx, withCookie("DELETE", token2, nil)); err != nil {
		t.Fatal(err)
	}
	if _, err := a.Session(ctx, withCookie("GET", token2, nil)); func() int { s, _ := status(err); return s }() != 401 {
		t.Errorf("session after sign-out: %v", err)
	}
}

func TestSessionsOff(t *testing.T) {
	st := newStore(t)
	a := New(st, Options{})
	key, _ := createKey(t, st, time.Time{})
	if _, _, err := a.SignIn(context.Background(), key); err == nil {
		t.Fatal("SignIn without a session store succeeded")
	}
	if _, err := a.Authenticate(context.Background(), withCookie("GET", strings.Repeat("A", tokenLen), nil)); func() int { s, _ := status(err); return s }() != 401 {
		t.Errorf("cookie without sessions: %v", err)
	}
}

func TestCookieFor(t *testing.T) {
	now := time.Now()
	a := New(nil, Options{Now: func() time.Time { return now }})
	r, _ := http.NewRequest("GET", "http://hub.test/", nil)
	c := a.CookieFor(r, "tok", Session{Key: store.APIKey{}, ExpiresAt: now.Add(12 * time.Hour)})
	if got := c.String(); got != "hub_session=tok; Path=/; Max-Age=43200; HttpOnly; SameSite=Strict" {
		t.Errorf("cookie %q", got)
	}
	r2 := r.Clone(context.Background())
	r2.Header.Set("X-Forwarded-Proto", "https")
	if got := a.CookieFor(r2, "tok", Session{ExpiresAt: now.Add(time.Hour)}).String(); got != "hub_session=tok; Path=/; Max-Age=3600; HttpOnly; Secure; SameSite=Strict" {
		t.Errorf("cookie behind a TLS proxy %q", got)
	}
	r.TLS = &tls.ConnectionState{}
	if got := a.CookieFor(r, "", Session{}).String(); got != "hub_session=; Path=/; Max-Age=0; HttpOnly; Secure; SameSite=Strict" {
		t.Errorf("clearing cookie over TLS %q", got)
	}
}
