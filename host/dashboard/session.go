package dashboard

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strconv"
	"sync"
	"time"

	"github.com/aignehub/hub/host/apierr"
	"github.com/aignehub/hub/host/auth"
	"github.com/aignehub/hub/store"
)

// SessionPath is the path of the session API.
const SessionPath = "/api/session"

// maxSignInBody bounds a sign-in request's body.
const maxSignInBody = 4 << 10

// Accounts reads accounts, for the session's account name.
type Accounts interface {
	AccountByID(ctx context.Context, id int64) (store.Account, error)
}

var _ Accounts = (*store.Store)(nil)

// SessionOptions configure the session API.
type SessionOptions struct {
	// Auth checks keys and keeps sessions; it must have
	// auth.Options.Sessions. Required.
	Auth *auth.Authenticator
	// Accounts names the session's account. Required.
	Accounts Accounts
	// Logger receives internal errors, never a key or a token. Nil means
	// slog.Default().
	Logger *slog.Logger
	// MaxFailures is how many failed sign-ins one client IP may make in
	// FailureWindow before its sign-ins are refused (429) until the window
	// ends. Zero means 10.
	MaxFailures int
	// FailureWindow is the window MaxFailures counts over. Zero means 5
	// minutes.
	FailureWindow time.Duration
	// Now is the clock of the sign-in limit. Nil means time.Now.
	Now func() time.Time
}

// SessionBody is the session API's answer: who the session acts as, and
// the CSRF token its state-changing requests must send in X-CSRF-Token.
type SessionBody struct {
	Role        string    `json:"role"`
	AccountID   int64     `json:"account_id"`
	AccountName string    `json:"account_name"`
	KeyID       int64     `json:"key_id"`
	KeyPrefix   string    `json:"key_prefix"`
	CSRF        string    `json:"csrf"`
	ExpiresAt   time.Time `json:"expires_at"`
}

// sessions serves the session API.
type sessions struct {
	opts    SessionOptions
	limiter *failLimiter
}

// NewSessions returns the handler of the session API, at [SessionPath]:
// POST signs in with {"key":"…"}, GET shows the session, DELETE signs
// out. It panics if opts.Auth or opts.Accounts is nil.
func NewSessions(opts SessionOptions) http.Handler {
	if opts.Auth == nil || opts.Accounts == nil {
		panic("dashboard: SessionOptions.Auth and Accounts are required")
	}
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	if opts.MaxFailures <= 0 {
		opts.MaxFailures = 10
	}
	if opts.FailureWindow <= 0 {
		opts.FailureWindow = 5 * time.Minute
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	return &sessions{opts: opts, limiter: &failLimiter{max: opts.MaxFailures, window: opts.FailureWindow, now: opts.Now, ips: map[string]*failures{}}}
}

func (s *sessions) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Cache-Control", "no-store")
	if r.URL.Path != SessionPath {
		s.fail(w, r, apierr.NotFound("Unknown request URL: "+r.Method+" "+r.URL.Path+"."))
		return
	}
	switch r.Method {
	case http.MethodPost:
		s.signIn(w, r)
	case http.MethodGet:
		sess, err := s.opts.Auth.Session(r.Context(), r)
		if err != nil {
			s.fail(w, r, err)
			return
		}
		s.answer(w, r, sess)
	case http.MethodDelete:
		s.signOut(w, r)
	default:
		w.Header().Set("Allow", "GET, POST, DELETE")
		s.fail(w, r, &apierr.Error{Status: http.StatusMethodNotAllowed, Type: apierr.TypeInvalidRequest, Code: "method_not_allowed",
			Message: "Method " + r.Method + " is not allowed on " + SessionPath + "; allowed: GET, POST, DELETE."})
	}
}

// signIn is POST /api/session.
func (s *sessions) signIn(w http.ResponseWriter, r *http.Request) {
	if err := auth.CheckOrigin(r); err != nil {
		s.fail(w, r, err)
		return
	}
	ip := clientIP(r)
	if wait := s.limiter.blocked(ip); wait > 0 {
		s.fail(w, r, &apierr.Error{Status: http.StatusTooManyRequests, Type: apierr.TypeRateLimit, Code: "too_many_sign_in_failures",
			Message: "Too many failed sign-ins from this address; try again in " + strconv.Itoa(int(wait.Seconds()+1)) + " seconds.", RetryAfter: wait})
		return
	}
	var body struct {
		Key string `json:"key"`
	}
	if err := decodeSignIn(w, r, &body); err != nil {
		s.fail(w, r, err)
		return
	}
	token, sess, err := s.opts.Auth.SignIn(r.Context(), body.Key)
	if err != nil {
		if e := apierr.From(err); e.Status == http.StatusUnauthorized {
			s.limiter.fail(ip)
		}
		s.fail(w, r, err)
		return
	}
	http.SetCookie(w, s.opts.Auth.CookieFor(r, token, sess))
	s.answer(w, r, sess)
}

// signOut is DELETE /api/session: a live session needs its CSRF token to
// end; without one, there is nothing to end and the cookie is cleared.
func (s *sessions) signOut(w http.ResponseWriter, r *http.Request) {
	if _, err := s.opts.Auth.Session(r.Context(), r); err == nil {
		if _, err := s.opts.Auth.Authenticate(r.Context(), r); err != nil {
			s.fail(w, r, err)
			return
		}
		if err := s.opts.Auth.SignOut(r.Context(), r); err != nil {
			s.fail(w, r, err)
			return
		}
	} else if apierr.From(err).Status >= 500 {
		s.fail(w, r, err)
		return
	}
	http.SetCookie(w, s.opts.Auth.CookieFor(r, "", auth.Session{}))
	w.WriteHeader(http.StatusNoContent)
}

func (s *sessions) answer(w http.ResponseWriter, r *http.Request, sess auth.Session) {
	a, err := s.opts.Accounts.AccountByID(r.Context(), sess.Key.AccountID)
	if err != nil {
		s.fail(w, r, apierr.Internal(err))
		return
	}
	b, _ := json.Marshal(SessionBody{Role: sess.Key.Role, AccountID: a.ID, AccountName: a.Name, KeyID: sess.Key.ID,
		KeyPrefix: sess.Key.Prefix, CSRF: sess.CSRF, ExpiresAt: sess.ExpiresAt.UTC()})
	w.Header().Set("Content-Type", "application/json")
	w.Write(append(b, '\n'))
}

func (s *sessions) fail(w http.ResponseWriter, r *http.Request, err error) {
	e := apierr.From(err)
	if e.Status >= 500 {
		s.opts.Logger.Error("session api", "method", r.Method, "status", e.Status, "err", err)
	}
	apierr.WriteOpenAI(w, e)
}

// decodeSignIn reads {"key":"…"}: one JSON object, no other field. Its
// errors never quote the body, which holds a key.
func decodeSignIn(w http.ResponseWriter, r *http.Request, v *struct {
	Key string `json:"key"`
}) error {
	b, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxSignInBody))
	if err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			return apierr.TooLarge(mbe.Limit)
		}
		return apierr.BadRequest("", "The request body could not be read.")
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil || dec.More() {
		return apierr.BadRequest("", `The request body must be a JSON object {"key":"sk-hub-…"}.`)
	}
	if v.Key == "" {
		return apierr.BadRequest("key", "key is required: the API key to sign in with.")
	}
	return nil
}

// clientIP is the address the request came from (the peer: a proxy in
// front of the hub counts as one client); an IPv6 address counts by its
// /64, which one client usually holds whole.
func clientIP(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		host = r.RemoteAddr
	}
	if ip := net.ParseIP(host); ip != nil && ip.To4() == nil {
		return ip.Mask(net.CIDRMask(64, 128)).String() + "/64"
	}
	return host
}

// failLimiter counts failed sign-ins per client IP in fixed windows.
type failLimiter struct {
	max    int
	window time.Duration
	now    func() time.Time

	mu  sync.Mutex
	ips map[string]*failures
}

type failures struct {
	start time.Time
	n     int
}

// maxTracked bounds the IPs tracked before expired windows are dropped.
const maxTracked = 4096

// blocked returns how long ip must wait before signing in again; 0 when
// it may now.
func (l *failLimiter) blocked(ip string) time.Duration {
	l.mu.Lock()
	defer l.mu.Unlock()
	f := l.ips[ip]
	if f == nil {
		return 0
	}
	left := f.start.Add(l.window).Sub(l.now())
	if left <= 0 {
		delete(l.ips, ip)
		return 0
	}
	if f.n < l.max {
		return 0
	}
	return left
}

// fail counts one failed sign-in from ip.
func (l *failLimiter) fail(ip string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	now := l.now()
	f := l.ips[ip]
	if f == nil || !now.Before(f.start.Add(l.window)) {
		if len(l.ips) >= maxTracked {
			for k, v := range l.ips {
				if !now.Before(v.start.Add(l.window)) {
					delete(l.ips, k)
				}
			}
		}
		f = &failures{start: now}
		l.ips[ip] = f
	}
	f.n++
}
