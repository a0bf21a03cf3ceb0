package auth

import (
	"context"
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"net/http"
	"strings"
	"time"

	"github.com/aignehub/hub/host/apierr"
	"github.com/aignehub/hub/store"
)

// SessionCookie is the name of the dashboard's session cookie.
const SessionCookie = "hub_session"

// CSRFHeader is the header a state-changing request authenticated by a
// session cookie must carry, holding the session's CSRF token.
const CSRFHeader = "X-CSRF-Token"

// DefaultSessionTTL is how long a session lasts when [Options].SessionTTL
// is zero.
const DefaultSessionTTL = 12 * time.Hour

// tokenLen is the length of a session or CSRF token: 32 random bytes in
// unpadded base64url.
const tokenLen = 43

// SessionStore is what sessions need from the database.
type SessionStore interface {
	CreateSession(ctx context.Context, s store.Session) (store.Session, error)
	SessionByHash(ctx context.Context, hash [32]byte) (store.Session, store.APIKey, error)
	DeleteSession(ctx context.Context, hash [32]byte) error
}

var _ SessionStore = (*store.Store)(nil)

// A Session is a signed-in browser session: it acts as Key.
type Session struct {
	// Key is the session's API key as stored now.
	Key store.APIKey
	// CSRF is the token state-changing requests must send in CSRFHeader.
	CSRF      string
	ExpiresAt time.Time
}

// newToken returns 32 random bytes in unpadded base64url.
func newToken() string {
	var b [32]byte
	if _, err := rand.Read(b[:]); err != nil {
		panic("auth: crypto/rand failed: " + err.Error())
	}
	return base64.RawURLEncoding.EncodeToString(b[:])
}

// sessionToken is the request's session cookie, or "" when it has none or
// one that cannot be a token (which is then ignored, not looked up).
func sessionToken(r *http.Request) string {
	c, err := r.Cookie(SessionCookie)
	if err != nil || len(c.Value) != tokenLen {
		return ""
	}
	if _, err := base64.RawURLEncoding.DecodeString(c.Value); err != nil {
		return ""
	}
	return c.Value
}

// SignIn checks a presented API key as [Authenticator.Lookup] does and
// opens a session acting as it, for [Options].SessionTTL. It returns the
// session's token, which the caller sets as the SessionCookie
// ([Authenticator.CookieFor]) and must never log or store: the store keeps only
// its SHA-256.
//
// The session is the key: the same role, account, limits, allow-list and
// billing, on every route that takes a key, when a request presents no key
// of its own. The key is read again on each use, so revoking or expiring
// it ends its sessions at once. A request other than GET, HEAD or OPTIONS
// authenticated by the cookie must carry the session's CSRF token in
// CSRFHeader and must not be a cross-origin browser request (by
// Sec-Fetch-Site, or an Origin whose host is not the request's Host);
// otherwise it is refused with a 403.
func (a *Authenticator) SignIn(ctx context.Context, presented string) (token string, s Session, err error) {
	if a.opts.Sessions == nil {
		return "", Session{}, apierr.Unavailable("Sessions are not enabled on this hub.")
	}
	k, err := a.Lookup(ctx, presented)
	if err != nil {
		return "", Session{}, err
	}
	token = newToken()
	stored, err := a.opts.Sessions.CreateSession(ctx, store.Session{
		TokenHash: Hash(token),
		KeyID:     k.ID,
		CSRF:      newToken(),
		ExpiresAt: a.opts.Now().Add(a.opts.SessionTTL),
	})
	if err != nil {
		return "", Session{}, apierr.Internal(err)
	}
	return token, Session{Key: k, CSRF: stored.CSRF, ExpiresAt: stored.ExpiresAt}, nil
}

// Session returns the session r's cookie stands for, re-reading its key.
// It returns a 401 *apierr.Error when r has no session cookie, or one for
// an unknown or expired session or a revoked or expired key. It does not
// check CSRF: [Authenticator.Authenticate] does.
func (a *Authenticator) Session(ctx context.Context, r *http.Request) (Session, error) {
	tok := sessionToken(r)
	if tok == "" || a.opts.Sessions == nil {
		return Session{}, errNoSession
	}
	st, k, err := a.opts.Sessions.SessionByHash(ctx, Hash(tok))
	switch {
	case errors.Is(err, store.ErrNotFound):
		return Session{}, errNoSession
	case err != nil:
		return Session{}, apierr.Internal(err)
	case !a.opts.Now().Before(st.ExpiresAt):
		return Session{}, errNoSession
	}
	if err := a.usable(k); err != nil {
		return Session{}, err
	}
	return Session{Key: k, CSRF: st.CSRF, ExpiresAt: st.ExpiresAt}, nil
}

// SignOut ends the session r's cookie stands for, if any.
func (a *Authenticator) SignOut(ctx context.Context, r *http.Request) error {
	tok := sessionToken(r)
	if tok == "" || a.opts.Sessions == nil {
		return nil
	}
	if err := a.opts.Sessions.DeleteSession(ctx, Hash(tok)); err != nil {
		return apierr.Internal(err)
	}
	return nil
}

var errNoSession = &apierr.Error{Status: http.StatusUnauthorized, Type: apierr.TypeInvalidRequest, Code: "invalid_session",
	Message: "Your session has ended or is not valid; sign in again."}

// crossOrigin refuses state-changing cross-origin browser requests.
var crossOrigin = http.NewCrossOriginProtection()

// CheckOrigin returns a 403 *apierr.Error for a state-changing request
// (not GET, HEAD or OPTIONS) that a browser sent from another origin:
// Sec-Fetch-Site other than same-origin or none, or, without it, an
// Origin whose host is not the request's Host. Requests with neither
// header (not from a browser) pass.
func CheckOrigin(r *http.Request) error {
	if err := crossOrigin.Check(r); err != nil {
		return &apierr.Error{Status: http.StatusForbidden, Type: apierr.TypePermission, Code: "cross_origin_request",
			Message: "Cross-origin requests may not change anything here."}
	}
	return nil
}

// checkCSRF applies the session's CSRF rules to a request authenticated by
// its cookie.
func checkCSRF(r *http.Request, s Session) error {
	switch r.Method {
	case http.MethodGet, http.MethodHead, http.MethodOptions:
		return nil
	}
	if err := CheckOrigin(r); err != nil {
		return err
	}
	got := r.Header.Get(CSRFHeader)
	if got == "" || subtle.ConstantTimeCompare([]byte(got), []byte(s.CSRF)) != 1 {
		return &apierr.Error{Status: http.StatusForbidden, Type: apierr.TypePermission, Code: "csrf_token_invalid",
			Message: "A request authenticated by the session cookie must carry the session's token in the " + CSRFHeader + " header."}
	}
	return nil
}

// CookieFor returns the cookie that carries a session's token to the
// browser until the session expires: HttpOnly, SameSite=Strict, Path=/,
// and Secure when r came over TLS, to the hub or (X-Forwarded-Proto:
// https) to a proxy in front of it. An empty token returns the cookie that
// clears it.
func (a *Authenticator) CookieFor(r *http.Request, token string, s Session) *http.Cookie {
	c := &http.Cookie{
		Name:     SessionCookie,
		Value:    token,
		Path:     "/",
		HttpOnly: true,
		SameSite: http.SameSiteStrictMode,
		Secure:   r.TLS != nil || strings.EqualFold(r.Header.Get("X-Forwarded-Proto"), "https"),
		MaxAge:   -1,
	}
	if token != "" {
		c.MaxAge = max(1, int((s.ExpiresAt.Sub(a.opts.Now())+time.Second-1)/time.Second)) // rounded up
	}
	return c
}
