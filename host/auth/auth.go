// Package auth authenticates API callers.
//
// Keys are random strings shown once at creation ("sk-hub-" + 43 base64url
// characters, 256 bits) and stored only as their SHA-256 hash. Lookups go
// through an LRU cache in front of SQLite; the cache holds both hits and
// misses. A revocation made in this process purges the cache at once; one
// made by another process (the `hub keys revoke` CLI) is seen within
// PollInterval through a version counter the store bumps on every change to
// api_keys.
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

// Authenticate returns the key record for the request's key, or a 401
// *apierr.Error for a missing, unknown, revoked or expired key.
func (a *Authenticator) Authenticate(ctx context.Context, r *http.Request) (store.APIKey, error) {
	presented := Presented(r)
	if presented == "" {
		return store.APIKey{}, apierr.Unauthorized("You didn't provide an API key. Send it as \"Authorization: Bearer YOUR_KEY\".")
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
	if !e.key.RevokedAt.IsZero() {
		return store.APIKey{}, apierr.Unauthorized("This API key has been revoked.")
	}
	if !e.key.ExpiresAt.IsZero() && !a.opts.Now().Before(e.key.ExpiresAt) {
		return store.APIKey{}, apierr.Unauthorized("This API key has expired.")
	}
	return e.key, nil
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
