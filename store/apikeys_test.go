package store

import (
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"reflect"
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
	if !reflect.DeepEqual(got, k) {
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

func TestAPIKeyLimitsRoundTrip(t *testing.T) {
	ctx := actorCtx()
	s, _ := openTest(t, Options{})
	acct, err := s.EnsureAccount(ctx, "acme")
	if err != nil {
		t.Fatal(err)
	}
	n := len(auditLog(t, s))
	in := newKey(acct.ID, "limited-key", "ci")
	in.AllowedModels = []string{"openai/gpt-4o", "anthropic/*"}
	in.RPM, in.TPM, in.MaxConcurrency = 60, 100_000, 4
	k, err := s.CreateAPIKey(ctx, in)
	if err != nil {
		t.Fatal(err)
	}
	for _, get := range []func() (APIKey, error){
		func() (APIKey, error) { return s.APIKeyByHash(ctx, in.Hash) },
		func() (APIKey, error) { return s.APIKeyByID(ctx, k.ID) },
		func() (APIKey, error) { return s.APIKeyByPrefixOrName(ctx, "ci") },
	} {
		got, err := get()
		if err != nil || !reflect.DeepEqual(got, k) {
			t.Errorf("read back %+v, %v\nwant %+v", got, err, k)
		}
	}
	if k.RPM != 60 || k.TPM != 100_000 || k.MaxConcurrency != 4 || len(k.AllowedModels) != 2 {
		t.Errorf("created %+v", k)
	}
	es := auditSince(t, s, n)
	if summary(es) != fmt.Sprintf("key.create key:%d\n", k.ID) {
		t.Fatalf("audit:\n%s", summary(es))
	}
	d := detail(t, es[0])
	if d["rpm"] != float64(60) || d["prefix"] != k.Prefix || d["role"] != "user" || d["expires_at"] != nil || d["account_id"] != float64(acct.ID) {
		t.Errorf("create detail = %v", d)
	}
	if strings.Contains(string(es[0].Detail), "hash") {
		t.Errorf("detail mentions the hash: %s", es[0].Detail)
	}

	plain, err := s.CreateAPIKey(ctx, newKey(acct.ID, "plain-key", ""))
	if err != nil {
		t.Fatal(err)
	}
	if got, _ := s.APIKeyByID(ctx, plain.ID); got.AllowedModels != nil || got.RPM != 0 {
		t.Errorf("default limits read back as %+v", got)
	}
	if _, err := s.APIKeyByID(ctx, 9999); !errors.Is(err, ErrNotFound) {
		t.Errorf("APIKeyByID(9999) = %v", err)
	}
}

func TestCreateAPIKeyLimitErrors(t *testing.T) {
	ctx := context.Background()
	s, _ := openTest(t, Options{})
	acct, err := s.EnsureAccount(ctx, "acme")
	if err != nil {
		t.Fatal(err)
	}
	for name, edit := range map[string]func(*APIKey){
		"negative rpm":             func(k *APIKey) { k.RPM = -1 },
		"negative tpm":             func(k *APIKey) { k.TPM = -1 },
		"negative max concurrency": func(k *APIKey) { k.MaxConcurrency = -1 },
		"empty model":              func(k *APIKey) { k.AllowedModels = []string{""} },
		"model with space":         func(k *APIKey) { k.AllowedModels = []string{"gpt 4"} },
		"duplicate model":          func(k *APIKey) { k.AllowedModels = []string{"a", "a"} },
	} {
		k := newKey(acct.ID, "secret-"+name, "")
		edit(&k)
		if _, err := s.CreateAPIKey(ctx, k); err == nil {
			t.Errorf("%s: CreateAPIKey succeeded", name)
		}
	}
	if keys, _ := s.ListAPIKeys(ctx); len(keys) != 0 {
		t.Errorf("%d keys stored", len(keys))
	}
}

func TestUpdateAPIKey(t *testing.T) {
	ctx := actorCtx()
	s, _ := openTest(t, Options{})
	acct, err := s.EnsureAccount(ctx, "acme")
	if err != nil {
		t.Fatal(err)
	}
	strp := func(v string) *string { return &v }
	intp := func(v int) *int { return &v }
	expiry := time.UnixMilli(1_900_000_000_123)

	tests := []struct {
		name   string
		start  func(*APIKey)
		patch  APIKeyPatch
		want   func(*APIKey)
		detail string // "" means no change: no write, no audit row
		bad    bool
	}{
		{
			name:   "name and role",
			patch:  APIKeyPatch{Name: strp("renamed"), Role: strp(RoleAdmin)},
			want:   func(k *APIKey) { k.Name, k.Role = "renamed", RoleAdmin },
			detail: `{"name":"renamed","role":"admin"}`,
		},
		{
			name:   "limits",
			patch:  APIKeyPatch{RPM: intp(10), TPM: intp(20), MaxConcurrency: intp(2)},
			want:   func(k *APIKey) { k.RPM, k.TPM, k.MaxConcurrency = 10, 20, 2 },
			detail: `{"max_concurrency":2,"rpm":10,"tpm":20}`,
		},
		{
			name:   "allowed models",
			patch:  APIKeyPatch{AllowedModels: &[]string{"gpt-4o", "anthropic/*"}},
			want:   func(k *APIKey) { k.AllowedModels = []string{"gpt-4o", "anthropic/*"} },
			detail: `{"allowed_models":["gpt-4o","anthropic/*"]}`,
		},
		{
			name:   "clear allowed models",
			start:  func(k *APIKey) { k.AllowedModels = []string{"a"} },
			patch:  APIKeyPatch{AllowedModels: &[]string{}},
			want:   func(k *APIKey) { k.AllowedModels = nil },
			detail: `{"allowed_models":[]}`,
		},
		{
			name:   "set expiry",
			patch:  APIKeyPatch{ExpiresAt: &expiry},
			want:   func(k *APIKey) { k.ExpiresAt = expiry },
			detail: `{"expires_at":"2030-03-17T17:46:40.123Z"}`,
		},
		{
			name:   "clear expiry",
			start:  func(k *APIKey) { k.ExpiresAt = expiry },
			patch:  APIKeyPatch{ExpiresAt: &time.Time{}},
			want:   func(k *APIKey) { k.ExpiresAt = time.Time{} },
			detail: `{"expires_at":null}`,
		},
		{
			name:  "no change",
			start: func(k *APIKey) { k.RPM = 5 },
			patch: APIKeyPatch{RPM: intp(5), Role: strp(RoleUser)},
			want:  func(k *APIKey) {},
		},
		{name: "bad role", patch: APIKeyPatch{Role: strp("root")}, bad: true},
		{name: "negative rpm", patch: APIKeyPatch{RPM: intp(-1)}, bad: true},
		{name: "negative tpm", patch: APIKeyPatch{TPM: intp(-1)}, bad: true},
		{name: "negative concurrency", patch: APIKeyPatch{MaxConcurrency: intp(-1)}, bad: true},
		{name: "bad model", patch: APIKeyPatch{AllowedModels: &[]string{"a b"}}, bad: true},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			in := newKey(acct.ID, fmt.Sprint("update-key-", i), "")
			if tt.start != nil {
				tt.start(&in)
			}
			k, err := s.CreateAPIKey(ctx, in)
			if err != nil {
				t.Fatal(err)
			}
			v, err := s.KeysVersion(ctx)
			if err != nil {
				t.Fatal(err)
			}
			n := len(auditLog(t, s))
			got, err := s.UpdateAPIKey(ctx, k.ID, tt.patch)
			version, _ := s.KeysVersion(ctx)
			es := auditSince(t, s, n)
			stored, _ := s.APIKeyByID(ctx, k.ID)
			if tt.bad {
				if err == nil {
					t.Fatal("UpdateAPIKey succeeded")
				}
				if !reflect.DeepEqual(stored, k) || len(es) != 0 || version != v {
					t.Errorf("failed update wrote: %+v, audit %s, version %d->%d", stored, summary(es), v, version)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			want := k
			tt.want(&want)
			if !reflect.DeepEqual(got, want) || !reflect.DeepEqual(stored, want) {
				t.Errorf("updated = %+v\nstored  %+v\nwant    %+v", got, stored, want)
			}
			if tt.detail == "" {
				if len(es) != 0 || version != v {
					t.Errorf("no-op update wrote: audit %s, version %d->%d", summary(es), v, version)
				}
				return
			}
			if version <= v {
				t.Errorf("update left KeysVersion at %d", version)
			}
			if len(es) != 1 || es[0].Action != "key.update" || es[0].Target != fmt.Sprint("key:", k.ID) || string(es[0].Detail) != tt.detail {
				t.Errorf("audit = %s %s", summary(es), es[0].Detail)
			}
		})
	}
	if _, err := s.UpdateAPIKey(ctx, 9999, APIKeyPatch{RPM: intp(1)}); !errors.Is(err, ErrNotFound) {
		t.Errorf("UpdateAPIKey(9999) = %v, want ErrNotFound", err)
	}
}

func TestRevokeAPIKeyAudit(t *testing.T) {
	ctx := actorCtx()
	s, _ := openTest(t, Options{})
	acct, err := s.EnsureAccount(ctx, "acme")
	if err != nil {
		t.Fatal(err)
	}
	k, err := s.CreateAPIKey(ctx, newKey(acct.ID, "revoke-me", ""))
	if err != nil {
		t.Fatal(err)
	}
	n := len(auditLog(t, s))
	for range 2 { // the second revocation changes nothing
		if err := s.RevokeAPIKey(ctx, k.ID); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.TouchAPIKey(ctx, k.ID, time.Now()); err != nil {
		t.Fatal(err)
	}
	if err := s.RevokeAPIKey(ctx, 9999); !errors.Is(err, ErrNotFound) {
		t.Errorf("RevokeAPIKey(9999) = %v", err)
	}
	if es := auditSince(t, s, n); summary(es) != fmt.Sprintf("key.revoke key:%d\n", k.ID) {
		t.Errorf("audit:\n%s", summary(es))
	}
}

func TestListAPIKeysByAccount(t *testing.T) {
	ctx := context.Background()
	s, _ := openTest(t, Options{})
	a, _ := s.EnsureAccount(ctx, "a")
	b, _ := s.EnsureAccount(ctx, "b")
	var wantA []int64
	for i, acct := range []int64{a.ID, b.ID, a.ID, a.ID} {
		k, err := s.CreateAPIKey(ctx, newKey(acct, fmt.Sprint("by-account-", i), ""))
		if err != nil {
			t.Fatal(err)
		}
		if acct == a.ID {
			wantA = append(wantA, k.ID)
		}
	}
	keys, err := s.ListAPIKeysByAccount(ctx, a.ID)
	if err != nil {
		t.Fatal(err)
	}
	var got []int64
	for _, k := range keys {
		got = append(got, k.ID)
	}
	if !reflect.DeepEqual(got, wantA) {
		t.Errorf("keys of a = %v, want %v", got, wantA)
	}
	if keys, err := s.ListAPIKeysByAccount(ctx, 9999); err != nil || len(keys) != 0 {
		t.Errorf("keys of an unknown account = %v, %v", keys, err)
	}
}
