package auth

import (
	"context"
	"errors"
	"net/http"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aignehub/hub/host/apierr"
	"github.com/aignehub/hub/store"
)

func newStore(t *testing.T) *store.Store {
	st, _ := newStoreAt(t)
	return st
}

func newStoreAt(t *testing.T) (*store.Store, string) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "hub.db")
	st, err := store.Open(context.Background(), path, store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	return st, path
}

func createKey(t *testing.T, st *store.Store, expires time.Time) (string, store.APIKey) {
	t.Helper()
	ctx := context.Background()
	acct, err := st.EnsureAccount(ctx, "acct")
	if err != nil {
		t.Fatal(err)
	}
	key, hash, prefix := Generate()
	k, err := st.CreateAPIKey(ctx, store.APIKey{AccountID: acct.ID, Hash: hash, Prefix: prefix, Name: "k" + prefix, Role: "user", ExpiresAt: expires})
	if err != nil {
		t.Fatal(err)
	}
	return key, k
}

func request(h map[string]string) *http.Request {
	r, _ := http.NewRequest("POST", "/", nil)
	for k, v := range h {
		r.Header.Set(k, v)
	}
	return r
}

func TestGenerate(t *testing.T) {
	k1, h1, p1 := Generate()
	k2, _, _ := Generate()
	if k1 == k2 || !strings.HasPrefix(k1, KeyPrefix) || len(k1) != len(KeyPrefix)+43 || Hash(k1) != h1 || !strings.HasPrefix(k1, p1) || len(p1) != DisplayPrefixLen {
		t.Fatalf("key %q prefix %q", k1, p1)
	}
}

func TestAuthenticate(t *testing.T) {
	st := newStore(t)
	now := time.Now()
	a := New(st, Options{Now: func() time.Time { return now }})
	good, k := createKey(t, st, time.Time{})
	expired, _ := createKey(t, st, now.Add(-time.Minute))
	for _, tt := range []struct {
		name    string
		headers map[string]string
		ok      bool
		msg     string
	}{
		{"bearer", map[string]string{"Authorization": "Bearer " + good}, true, ""},
		{"bearer lowercase", map[string]string{"Authorization": "bearer " + good}, true, ""},
		{"x-api-key", map[string]string{"X-Api-Key": good}, true, ""},
		{"missing", nil, false, "didn't provide"},
		{"basic auth", map[string]string{"Authorization": "Basic " + good}, false, "didn't provide"},
		{"unknown", map[string]string{"Authorization": "Bearer sk-hub-unknownunknownunknown"}, false, "Incorrect API key"},
		{"expired", map[string]string{"Authorization": "Bearer " + expired}, false, "expired"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			got, err := a.Authenticate(context.Background(), request(tt.headers))
			if tt.ok {
				if err != nil || got.ID != k.ID {
					t.Fatalf("got %+v, %v", got, err)
				}
				return
			}
			var ae *apierr.Error
			if !errors.As(err, &ae) || ae.Status != 401 || !strings.Contains(ae.Message, tt.msg) {
				t.Fatalf("got %v", err)
			}
			if strings.Contains(ae.Message, good) || strings.Contains(ae.Message, expired) {
				t.Fatal("a full key appeared in an error")
			}
		})
	}
}

// A key revoked by another process (the CLI writes the same database) stops
// working within the poll interval, although it is cached.
func TestRevocationSeenAcrossProcesses(t *testing.T) {
	st, path := newStoreAt(t)
	a := New(st, Options{PollInterval: 20 * time.Millisecond})
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go a.Run(ctx)
	key, k := createKey(t, st, time.Time{})
	r := request(map[string]string{"Authorization": "Bearer " + key})
	if _, err := a.Authenticate(ctx, r); err != nil {
		t.Fatal(err)
	}
	other, err := store.Open(ctx, path, store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer other.Close()
	if err := other.RevokeAPIKey(ctx, k.ID); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(2 * time.Second)
	for {
		if _, err := a.Authenticate(ctx, r); err != nil {
			if !strings.Contains(err.Error(), "revoked") {
				t.Fatalf("got %v", err)
			}
			return
		}
		if time.Now().After(deadline) {
			t.Fatal("the revoked key still works after 2s")
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func TestAuthenticateConcurrent(t *testing.T) {
	st := newStore(t)
	a := New(st, Options{CacheSize: 4})
	var keys []string
	for range 8 {
		k, _ := createKey(t, st, time.Time{})
		keys = append(keys, k)
	}
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 200 {
				k := keys[(g+i)%len(keys)]
				if _, err := a.Authenticate(context.Background(), request(map[string]string{"Authorization": "Bearer " + k})); err != nil {
					t.Error(err)
					return
				}
				if i%50 == 0 {
					a.Purge()
				}
			}
		}()
	}
	wg.Wait()
}

func BenchmarkAuthenticateCached(b *testing.B) {
	st, err := store.Open(context.Background(), filepath.Join(b.TempDir(), "hub.db"), store.Options{})
	if err != nil {
		b.Fatal(err)
	}
	defer st.Close()
	acct, _ := st.EnsureAccount(context.Background(), "a")
	key, hash, prefix := Generate()
	st.CreateAPIKey(context.Background(), store.APIKey{AccountID: acct.ID, Hash: hash, Prefix: prefix, Name: "b", Role: "user"})
	a := New(st, Options{})
	r := request(map[string]string{"Authorization": "Bearer " + key})
	b.ReportAllocs()
	for b.Loop() {
		if _, err := a.Authenticate(context.Background(), r); err != nil {
			b.Fatal(err)
		}
	}
}
