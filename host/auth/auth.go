// Package auth authenticates API callers.
//
// Keys are random strings shown once at creation ("sk-hub-" + 43 base64url
// characters, 256 bits) and stored only as their SHA-256 hash. Lookups go
// through an LRU cache in front of SQLite; the cache holds both hits and
// misses. A revocation made in this process purges the cache at once; one
// made by another process (the `hub keys revoke` CLI) is seen within
// PollInterval through a version counter the store bumps on every change to
// api_keys.
//
// With [Options].Sessions, a browser may instead sign in once with a key
// and carry an opaque session cookie ([SessionCookie]) that acts as that
// key on every route that takes one; see [Authenticator.SignIn] for the
// session's rules and its protection against cross-site request forgery.
package auth

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"time"

	lru "github.com/hashicorp/golang-lru/v2"

	"github.com/aignehub/hub/host/apierr"
	"github.com/aignehub/hub/store"
)

// KeyPrefix starts every hub API key.
const KeyPrefix = "sk-hub-"

// DisplayPrefixLen is how much of a key is kept in clear for display.
const DisplayPrefixLen = len(KeyPrefix) + 6

// Generate returns a new random key, its hash and its display prefix.
func Generate() (key string, hash [32]byte, prefix string) {
	var b [32]byte
	if _, err := rand.Read(b[:]); err != nil {
		panic("auth: crypto/rand failed: " + err.Error())
	}
	key = KeyPrefix + base64.RawURLEncoding.EncodeToString(b[:])
	return key, Hash(key), key[:DisplayPrefixLen]
}

// Hash is how keys are stored and looked up.
func Hash(key string) [32]byte { return sha256.Sum256([]byte(key)) }

// Store is what the authenticator needs from the database.
type Store interface {
	APIKeyByHash(ctx context.Context, hash [32]byte) (store.APIKey, error)
	KeysVersion(ctx context.Context) (int64, error)
}

var _ Store = (*store.Store)(nil)

// Options configure an Authenticator.
type Options struct {
	// CacheSize is the number of keys cached. Zero means 10000.
	CacheSize int
	// PollInterval is how often the key version is checked for changes made
	// by other processes. Zero means 250ms.
	PollInterval time.Duration
	// Logger receives poll failures. Nil means slog.Default().
	Logger *slog.Logger
	// Now is the clock. Nil means time.Now.
	Now func() time.Time
	// Sessions stores sign-in sessions. Nil means session cookies are
	// ignored and SignIn fails.
	Sessions SessionStore
	// SessionTTL is how long a session lasts after sign-in. Zero means
	// DefaultSessionTTL (12h).
	SessionTTL time.Duration
}

// Authenticator maps a presented key to its record.
type Authenticator struct {
	st    Store
	opts  Options
	cache *lru.Cache[[32]byte, entry]

	mu      sync.Mutex
	version int64
}

type entry struct {
	key   store.APIKey
	found bool
}

// New returns an Authenticator over st.
func New(st Store, opts Options) *Authenticator {
	if opts.CacheSize <= 0 {
		opts.CacheSize = 10000
	}
	if opts.PollInterval <= 0 {
		opts.PollInterval = 250 * time.Millisecond
	}
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.SessionTTL <= 0 {
		opts.SessionTTL = DefaultSessionTTL
	}
	c, _ := lru.New[[32]byte, entry](opts.CacheSize)
	return &Authenticator{st: st, opts: opts, cache: c}
}

// Run polls the key version until ctx is done, purging the cache whenever
// another process changed api_keys.
func (a *Authenticator) Run(ctx context.Context) {
	t := time.NewTicker(a.opts.PollInterval)
	defer t.Stop()
	for {
		a.poll(ctx)
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

func (a *Authenticator) poll(ctx context.Context) {
	v, err := a.st.KeysVersion(ctx)
	if err != nil {
		if ctx.Err() == nil {
			a.opts.Logger.Warn("auth: poll key version", "err", err)
		}
		return
	}
	a.mu.Lock()
	changed := v != a.version
	a.version = v
	a.mu.Unlock()
	if changed {
		a.cache.Purge()
	}
}

// Purge drops every cached key; call it after changing keys in-process.
func (a *Authenticator) Purge() { a.cache.Purge() }

// Presented extracts the key from "Authorization: Bearer KEY" or, as the
// Anthropic SDK sends it, "x-api-key: KEY".
func Presented(r *http.Request) string {
	if h := r.Header.Get("Authorization"); h != "" {
		if len(h) > 7 && strings.EqualFold(h[:7], "bearer ") {
			return strings.TrimSpace(h[7:])
		}
		return ""
	}
	return strings.TrimSpace(r.Header.Get("X-Api-Key"))
}

// HasCredentials reports whether r presents an API key or carries a
// session cookie: whether [Authenticator.Authenticate] has anything to
// check.
func HasCredentials(r *http.Request) bool {
	return Presented(r) != "" || sessionToken(r) != ""
}

// Authenticate returns the key record for the request's key, or a 401
// *apierr.Error for a missing, unknown, revoked or expired key. A request
// without a key that carries a session cookie acts as the session's key
// (see [Authenticator.SignIn]); a state-changing request so authenticated
// must also pass the session's CSRF checks, or gets a 403 *apierr.Error.
func (a *Authenticator) Authenticate(ctx context.Context, r *http.Request) (store.APIKey, error) {
	presented := Presented(r)
	if presented == "" {
		if a.opts.Sessions != nil && sessionToken(r) != "" {
			s, err := a.Session(ctx, r)
			if err != nil {
				return store.APIKey{}, err
			}
			if err := checkCSRF(r, s); err != nil {
				return store.APIKey{}, err
			}
			return s.Key, nil
		}
		return store.APIKey{}, apierr.Unauthorized("You didn't provide an API key. Send it as \"Authorization: Bearer YOUR_KEY\".")
	}
	return a.Lookup(ctx, presented)
}

// Lookup returns the key record of a presented key, or a 401
// *apierr.Error for an unknown, revoked or expired key.
func (a *Authenticator) Lookup(ctx context.Context, presented string) (store.APIKey, error) {
	if presented == "" {
		return store.APIKey{}, apierr.Unauthorized("You didn't provide an API key.")
	}
	h := Hash(presented)
	e, ok := a.cache.Get(h)
	if !ok {
		k, err := a.st.APIKeyByHash(ctx, h)
		switch {
		case errors.Is(err, store.ErrNotFound):
			e = entry{}
		case err != nil:
			return store.APIKey{}, apierr.Internal(err)
		default:
			e = entry{key: k, found: true}
		}
		a.cache.Add(h, e)
	}
	if !e.found {
		return store.APIKey{}, apierr.Unauthorized("Incorrect API key provided: " + mask(presented) + ".")
	}
	if err := a.usable(e.key); err != nil {
		return store.APIKey{}, err
	}
	return e.key, nil
}

// usable returns a 401 *apierr.Error for a revoked or expired key.
func (a *Authenticator) usable(k store.APIKey) error {
	if !k.RevokedAt.IsZero() {
		return apierr.Unauthorized("This API key has been revoked.")
	}
	if !k.ExpiresAt.IsZero() && !a.opts.Now().Before(k.ExpiresAt) {
		return apierr.Unauthorized("This API key has expired.")
	}
	return nil
}

// mask shows at most a key's display prefix and last 4 characters.
func mask(k string) string {
	if len(k) <= 12 {
		return "****"
	}
	pre := k[:min(len(k)-4, DisplayPrefixLen)]
	if !strings.HasPrefix(k, KeyPrefix) {
		pre = k[:min(3, len(k)-4)]
	}
	return pre + "****" + k[len(k)-4:]
}
