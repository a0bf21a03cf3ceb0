package store

import (
	"context"
	"crypto/sha256"
	"errors"
	"strings"
	"testing"
	"time"
)

// newKey returns a key record for account with a hash derived from secret.
func newKey(account int64, secret, name string) APIKey {
	return APIKey{
		AccountID: account,
		Hash:      sha256.Sum256([]byte(secret)),
		Prefix:    "sk-hub-" + secret[:min(6, len(secret))],
		Name:      name,
	}
}

func TestCreateAndLookUpAPIKey(t *testing.T) {
	ctx := context.Background()
	s, _ := openTest(t, Options{})
	acct, err := s.EnsureAccount(ctx, "acme")
	if err != nil {
		t.Fatal(err)
	}

	expires := time.Now().Add(time.Hour)
	in := newKey(acct.ID, "secret-one", "ci")
	in.Role = RoleAdmin
	in.ExpiresAt = expires
	in.RevokedAt = time.Now() // ignored
	k, err := s.CreateAPIKey(ctx, in)
	if err != nil {
		t.Fatal(err)
	}
	if k.ID == 0 || k.CreatedAt.IsZero() || !k.RevokedAt.IsZero() {
		t.Fatalf("CreateAPIKey = %+v", k)
	}
	if !k.ExpiresAt.Equal(time.UnixMilli(expires.UnixMilli())) {
		t.Errorf("ExpiresAt = %v, want %v", k.ExpiresAt, expires)
	}

	got, err := s.APIKeyByHash(ctx, in.Hash)
	if err != nil {
		t.Fatal(err)
	}
	if got != k {
		t.Errorf("APIKeyByHash = %+v\nwant %+v", got, k)
	}

	if _, err := s.APIKeyByHash(ctx, sha256.Sum256([]byte("unknown"))); !errors.Is(err, ErrNotFound) {
		t.Errorf("APIKeyByHash(unknown) = %v, want ErrNotFound", err)
	}

	def, err := s.CreateAPIKey(ctx, newKey(acct.ID, "secret-two", ""))
	if err != nil {
		t.Fatal(err)
	}
	if def.Role != RoleUser || !def.ExpiresAt.IsZero() {
		t.Errorf("default key = %+v, want role user and no expiry", def)
	}
}

func TestCreateAPIKeyErrors(t *testing.T) {
	ctx := context.Background()
	s, _ := openTest(t, Options{})
	acct, err := s.EnsureAccount(ctx, "acme")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.CreateAPIKey(ctx, newKey(acct.ID, "taken", "")); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		edit func(*APIKey)
	}{
		{"bad role", func(k *APIKey) { k.Role = "root" }},
		{"zero hash", func(k *APIKey) { k.Hash = [32]byte{} }},
		{"no prefix", func(k *APIKey) { k.Prefix = "" }},
		{"no account", func(k *APIKey) { k.AccountID = 0 }},
		{"unknown account", func(k *APIKey) { k.AccountID = 9999 }}, // foreign keys are on
		{"duplicate hash", func(k *APIKey) { k.Hash = sha256.Sum256([]byte("taken")) }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			k := newKey(acct.ID, "fresh-"+tt.name, "")
			tt.edit(&k)
			if got, err := s.CreateAPIKey(ctx, k); err == nil {
				t.Fatalf("CreateAPIKey succeeded: %+v", got)
			}
		})
	}
	keys, err := s.ListAPIKeys(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(keys) != 1 {
		t.Errorf("%d keys after failed creations, want 1", len(keys))
	}
}

func TestRevokeAPIKey(t *testing.T) {
	ctx := context.Background()
	s, _ := openTest(t, Options{})
	acct, err := s.EnsureAccount(ctx, "acme")
	if err != nil {
		t.Fatal(err)
	}
	k, err := s.CreateAPIKey(ctx, newKey(acct.ID, "secret", ""))
	if err != nil {
		t.Fatal(err)
	}

	if err := s.RevokeAPIKey(ctx, 9999); !errors.Is(err, ErrNotFound) {
		t.Errorf("RevokeAPIKey(9999) = %v, want ErrNotFound", err)
	}
	if err := s.RevokeAPIKey(ctx, k.ID); err != nil {
		t.Fatal(err)
	}
	first, err := s.APIKeyByHash(ctx, k.Hash)
	if err != nil {
		t.Fatal(err)
	}
	if first.RevokedAt.IsZero() {
		t.Fatal("RevokedAt not set")
	}
	time.Sleep(5 * time.Millisecond)
	if err := s.RevokeAPIKey(ctx, k.ID); err != nil {
		t.Fatalf("revoking again: %v", err)
	}
	second, err := s.APIKeyByHash(ctx, k.Hash)
	if err != nil {
		t.Fatal(err)
	}
	if !second.RevokedAt.Equal(first.RevokedAt) {
		t.Errorf("RevokedAt moved from %v to %v", first.RevokedAt, second.RevokedAt)
	}
}

func TestListAPIKeys(t *testing.T) {
	ctx := context.Background()
	s, _ := openTest(t, Options{})
	acct, err := s.EnsureAccount(ctx, "acme")
	if err != nil {
		t.Fatal(err)
	}
	keys, err := s.ListAPIKeys(ctx)
	if err != nil || len(keys) != 0 {
		t.Fatalf("ListAPIKeys on empty store = %v, %v", keys, err)
	}
	var want []APIKey
	for _, secret := range []string{"aaaaaaaa", "bbbbbbbb", "cccccccc"} {
		k, err := s.CreateAPIKey(ctx, newKey(acct.ID, secret, secret))
		if err != nil {
			t.Fatal(err)
		}
		want = append(want, k)
	}
	if err := s.RevokeAPIKey(ctx, want[1].ID); err != nil {
		t.Fatal(err)
	}
	keys, err = s.ListAPIKeys(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(keys) != len(want) {
		t.Fatalf("ListAPIKeys returned %d keys, want %d", len(keys), len(want))
	}
	for i := range keys {
		if keys[i].ID != want[i].ID || keys[i].Hash != want[i].Hash {
			t.Errorf("key %d = %+v, want %+v", i, keys[i], want[i])
		}
	}
	if keys[1].RevokedAt.IsZero() {
		t.Error("revoked key listed without RevokedAt")
	}
}

func TestAPIKeyByPrefixOrName(t *testing.T) {
	ctx := context.Background()
	s, _ := openTest(t, Options{})
	acct, err := s.EnsureAccount(ctx, "acme")
	if err != nil {
		t.Fatal(err)
	}
	ids := map[string]int64{}
	for _, k := range []APIKey{
		newKey(acct.ID, "AbCdEf-1", "ci"),
		newKey(acct.ID, "GhIjKl-2", "laptop"),
		newKey(acct.ID, "MnOpQr-3", "laptop"),
	} {
		created, err := s.CreateAPIKey(ctx, k)
		if err != nil {
			t.Fatal(err)
		}
		ids[created.Prefix] = created.ID
	}
	tests := []struct {
		s       string
		wantID  int64
		wantErr error
	}{
		{s: "sk-hub-AbCdEf", wantID: ids["sk-hub-AbCdEf"]},
		{s: "ci", wantID: ids["sk-hub-AbCdEf"]},
		{s: "sk-hub-GhIjKl", wantID: ids["sk-hub-GhIjKl"]},
		{s: "laptop", wantErr: ErrAmbiguous},
		{s: "sk-hub-AbC", wantErr: ErrNotFound}, // exact matches only
		{s: "nobody", wantErr: ErrNotFound},
	}
	for _, tt := range tests {
		t.Run(tt.s, func(t *testing.T) {
			k, err := s.APIKeyByPrefixOrName(ctx, tt.s)
			if tt.wantErr != nil {
				if !errors.Is(err, tt.wantErr) {
					t.Fatalf("err = %v, want %v", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if k.ID != tt.wantID {
				t.Errorf("ID = %d, want %d", k.ID, tt.wantID)
			}
		})
	}
	if _, err := s.APIKeyByPrefixOrName(ctx, ""); err == nil {
		t.Error("empty string matched")
	}
}

func TestTouchAPIKey(t *testing.T) {
	ctx := context.Background()
	s, _ := openTest(t, Options{})
	acct, err := s.EnsureAccount(ctx, "acme")
	if err != nil {
		t.Fatal(err)
	}
	k, err := s.CreateAPIKey(ctx, newKey(acct.ID, "secret", ""))
	if err != nil {
		t.Fatal(err)
	}
	t1 := time.UnixMilli(1_700_000_000_000)
	t0 := t1.Add(-time.Hour)
	for _, at := range []time.Time{t1, t0} { // the second is older: ignored
		if err := s.TouchAPIKey(ctx, k.ID, at); err != nil {
			t.Fatal(err)
		}
	}
	got, err := s.APIKeyByHash(ctx, k.Hash)
	if err != nil {
		t.Fatal(err)
	}
	if !got.LastUsedAt.Equal(t1) {
		t.Errorf("LastUsedAt = %v, want %v", got.LastUsedAt, t1)
	}
	if err := s.TouchAPIKey(ctx, 9999, t1); !errors.Is(err, ErrNotFound) {
		t.Errorf("TouchAPIKey(9999) = %v, want ErrNotFound", err)
	}
}

func TestKeysVersion(t *testing.T) {
	ctx := context.Background()
	s, _ := openTest(t, Options{})
	acct, err := s.EnsureAccount(ctx, "acme")
	if err != nil {
		t.Fatal(err)
	}
	version := func() int64 {
		t.Helper()
		v, err := s.KeysVersion(ctx)
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
	v0 := version()
	k, err := s.CreateAPIKey(ctx, newKey(acct.ID, "secret", ""))
	if err != nil {
		t.Fatal(err)
	}
	v1 := version()
	if v1 <= v0 {
		t.Errorf("creating a key left the version at %d", v1)
	}
	if err := s.TouchAPIKey(ctx, k.ID, time.Now()); err != nil {
		t.Fatal(err)
	}
	if v := version(); v != v1 {
		t.Errorf("touching a key moved the version from %d to %d", v1, v)
	}
	if err := s.RevokeAPIKey(ctx, k.ID); err != nil {
		t.Fatal(err)
	}
	if v := version(); v <= v1 {
		t.Errorf("revoking a key left the version at %d", v)
	}
	if err := s.RevokeAPIKey(ctx, 9999); err == nil || !strings.Contains(err.Error(), "9999") {
		t.Errorf("RevokeAPIKey(9999) = %v, want an error naming the id", err)
	}
}
