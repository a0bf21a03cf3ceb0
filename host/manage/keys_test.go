package manage_test

import (
	"context"
	"encoding/json"
	"net/http"
	"reflect"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/aignehub/hub/host/auth"
	"github.com/aignehub/hub/host/manage"
	"github.com/aignehub/hub/store"
)

func TestCreateKey(t *testing.T) {
	e := newEnv(t, envOpts{})
	ctx := actor()
	key, v, err := e.svc.CreateKey(ctx, manage.KeySpec{Name: "ci"})
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(key, auth.KeyPrefix) || !strings.HasPrefix(key, v.Prefix) || v.Prefix == key {
		t.Errorf("key %q, prefix %q", key, v.Prefix)
	}
	if v.Account != manage.DefaultAccount || v.AccountID == 0 || v.Role != store.RoleUser || v.Status != manage.KeyActive ||
		v.ExpiresAt != nil || v.RevokedAt != nil || v.LastUsedAt != nil || v.AllowedModels == nil || v.Name != "ci" {
		t.Errorf("view = %+v", v)
	}
	if e.keysChanged.Load() != 1 {
		t.Errorf("KeysChanged called %d times, want 1", e.keysChanged.Load())
	}
	// The key authenticates as the stored record.
	a := auth.New(e.st, auth.Options{})
	r, _ := http.NewRequest("GET", "/", nil)
	r.Header.Set("Authorization", "Bearer "+key)
	k, err := a.Authenticate(context.Background(), r)
	if err != nil || k.ID != v.ID {
		t.Fatalf("Authenticate = %+v, %v", k, err)
	}
	// The view's JSON has neither the key nor its hash.
	b, _ := json.Marshal(v)
	if strings.Contains(string(b), key) || strings.Contains(string(b), "hash") {
		t.Errorf("view JSON = %s", b)
	}
	for _, f := range []string{"id", "account_id", "account", "prefix", "name", "role", "allowed_models", "rpm", "tpm", "max_concurrency", "created_at", "expires_at", "revoked_at", "last_used_at", "status"} {
		if !strings.Contains(string(b), `"`+f+`":`) {
			t.Errorf("view JSON lacks %q: %s", f, b)
		}
	}

	now := time.Now()
	_, v, err = e.svc.CreateKey(ctx, manage.KeySpec{
		Role: "admin", Account: "acme", AllowedModels: &[]string{"openai/*", "gpt-4o"},
		RPM: ptr(60), TPM: ptr(1000), MaxConcurrency: ptr(2), ExpiresIn: "720h",
	})
	if err != nil {
		t.Fatal(err)
	}
	if v.Account != "acme" || v.Role != "admin" || !reflect.DeepEqual(v.AllowedModels, []string{"openai/*", "gpt-4o"}) ||
		v.RPM != 60 || v.TPM != 1000 || v.MaxConcurrency != 2 || v.ExpiresAt == nil ||
		v.ExpiresAt.Sub(now.Add(720*time.Hour)).Abs() > time.Minute {
		t.Errorf("view = %+v", v)
	}
	_, v2, err := e.svc.CreateKey(ctx, manage.KeySpec{AccountID: v.AccountID, ExpiresAt: ptr(now.Add(time.Hour))})
	if err != nil {
		t.Fatal(err)
	}
	if v2.Account != "acme" || v2.ExpiresAt.Sub(now.Add(time.Hour)).Abs() > time.Millisecond {
		t.Errorf("by account id = %+v", v2)
	}
	if _, v3, err := e.svc.CreateKey(ctx, manage.KeySpec{ExpiresIn: "never"}); err != nil || v3.ExpiresAt != nil {
		t.Errorf("expires_in never: %+v, %v", v3, err)
	}

	acme, err := e.svc.ListKeys(ctx, v.AccountID)
	if err != nil || len(acme) != 2 || acme[0].ID != v.ID || acme[1].ID != v2.ID {
		t.Errorf("ListKeys(acme) = %+v, %v", acme, err)
	}
	all, err := e.svc.ListKeys(ctx, 0)
	if err != nil || len(all) != 4 {
		t.Errorf("ListKeys(0) = %d keys, %v", len(all), err)
	}
	got, err := e.svc.Key(ctx, v.ID)
	if err != nil || !reflect.DeepEqual(got, v) {
		t.Errorf("Key = %+v, %v; want %+v", got, err, v)
	}
	_, err = e.svc.Key(ctx, 999)
	wantIs(t, err, store.ErrNotFound)
}

func TestKeyValidation(t *testing.T) {
	e := newEnv(t, envOpts{})
	ctx := actor()
	_, k, err := e.svc.CreateKey(ctx, manage.KeySpec{})
	if err != nil {
		t.Fatal(err)
	}
	other, err := e.svc.CreateAccount(ctx, "other")
	if err != nil {
		t.Fatal(err)
	}
	past := time.Now().Add(-time.Hour)
	tests := []struct {
		name        string
		spec        manage.KeySpec
		field       string
		updateField string // "": same as field; "-": valid in an update
	}{
		{"bad role", manage.KeySpec{Role: "root"}, "role", ""},
		{"name with newline", manage.KeySpec{Name: "a\nb"}, "name", ""},
		{"negative rpm", manage.KeySpec{RPM: ptr(-1)}, "rpm", ""},
		{"negative tpm", manage.KeySpec{TPM: ptr(-1)}, "tpm", ""},
		{"negative concurrency", manage.KeySpec{MaxConcurrency: ptr(-1)}, "max_concurrency", ""},
		{"model with space", manage.KeySpec{AllowedModels: &[]string{"gpt 4"}}, "allowed_models[0]", ""},
		{"duplicate model", manage.KeySpec{AllowedModels: &[]string{"a", "a"}}, "allowed_models[1]", ""},
		{"both expiries", manage.KeySpec{ExpiresIn: "1h", ExpiresAt: ptr(time.Now().Add(time.Hour))}, "expires_in", ""},
		{"bad duration", manage.KeySpec{ExpiresIn: "a month"}, "expires_in", ""},
		{"negative duration", manage.KeySpec{ExpiresIn: "-1h"}, "expires_in", ""},
		{"expiry in the past", manage.KeySpec{ExpiresAt: &past}, "expires_at", ""},
		{"unknown account id", manage.KeySpec{AccountID: 999}, "account_id", ""},
		{"negative account id", manage.KeySpec{AccountID: -1}, "account_id", ""},
		{"account id and another name", manage.KeySpec{AccountID: k.AccountID, Account: "other"}, "account", ""},
		{"account with control chars", manage.KeySpec{Account: "a\tb"}, "account", ""},
		{"another account", manage.KeySpec{AccountID: other.ID}, "-", "account_id"},
		{"another account by name", manage.KeySpec{Account: "other"}, "-", "account"},
		{"unknown account name", manage.KeySpec{Account: "ghost"}, "-", "account"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before := e.keysChanged.Load()
			if tt.field != "-" {
				_, _, err := e.svc.CreateKey(ctx, tt.spec)
				wantField(t, err, tt.field)
			}
			uf := tt.updateField
			if uf == "" {
				uf = tt.field
			}
			_, err := e.svc.UpdateKey(ctx, k.ID, tt.spec)
			wantField(t, err, uf)
			if e.keysChanged.Load() != before {
				t.Error("KeysChanged called after a rejected change")
			}
		})
	}
	if keys, _ := e.svc.ListKeys(ctx, 0); len(keys) != 1 {
		t.Errorf("%d keys after rejected creates, want 1", len(keys))
	}
}

func TestUpdateAndRevokeKey(t *testing.T) {
	e := newEnv(t, envOpts{})
	ctx := actor()
	key, k, err := e.svc.CreateKey(ctx, manage.KeySpec{Name: "a", RPM: ptr(10), AllowedModels: &[]string{"x"}, ExpiresIn: "1h"})
	if err != nil {
		t.Fatal(err)
	}
	u, err := e.svc.UpdateKey(ctx, k.ID, manage.KeySpec{Name: "b", Account: manage.DefaultAccount, TPM: ptr(5)})
	if err != nil {
		t.Fatal(err)
	}
	if u.Name != "b" || u.RPM != 10 || u.TPM != 5 || !reflect.DeepEqual(u.AllowedModels, []string{"x"}) || u.ExpiresAt == nil || u.Account != manage.DefaultAccount {
		t.Errorf("patched = %+v", u)
	}
	u, err = e.svc.UpdateKey(ctx, k.ID, manage.KeySpec{AllowedModels: &[]string{}, ExpiresIn: "never", Role: "admin", AccountID: k.AccountID})
	if err != nil {
		t.Fatal(err)
	}
	if len(u.AllowedModels) != 0 || u.ExpiresAt != nil || u.Role != "admin" || u.Name != "b" {
		t.Errorf("patched = %+v", u)
	}
	_, err = e.svc.UpdateKey(ctx, 999, manage.KeySpec{Name: "x"})
	wantIs(t, err, store.ErrNotFound)

	// Status follows the clock.
	later := time.Now().Add(2 * time.Hour)
	if _, err := e.svc.UpdateKey(ctx, k.ID, manage.KeySpec{ExpiresIn: "1h"}); err != nil {
		t.Fatal(err)
	}
	e.now.Store(&later)
	if v, _ := e.svc.Key(ctx, k.ID); v.Status != manage.KeyExpired {
		t.Errorf("status after expiry = %q", v.Status)
	}
	e.now.Store(nil)

	before := e.keysChanged.Load()
	if err := e.svc.RevokeKey(ctx, k.ID); err != nil {
		t.Fatal(err)
	}
	if err := e.svc.RevokeKey(ctx, k.ID); err != nil {
		t.Fatalf("revoking twice: %v", err)
	}
	if e.keysChanged.Load() != before+2 {
		t.Errorf("KeysChanged calls = %d, want %d", e.keysChanged.Load(), before+2)
	}
	v, err := e.svc.Key(ctx, k.ID)
	if err != nil || v.Status != manage.KeyRevoked || v.RevokedAt == nil {
		t.Errorf("revoked key = %+v, %v", v, err)
	}
	wantIs(t, e.svc.RevokeKey(ctx, 999), store.ErrNotFound)
	a := auth.New(e.st, auth.Options{})
	r, _ := http.NewRequest("GET", "/", nil)
	r.Header.Set("Authorization", "Bearer "+key)
	if _, err := a.Authenticate(context.Background(), r); err == nil {
		t.Error("a revoked key authenticates")
	}

	audit, err := e.svc.ListAudit(ctx, store.AuditFilter{Target: "key:" + strconv.FormatInt(k.ID, 10)})
	if err != nil {
		t.Fatal(err)
	}
	var actions []string
	for _, a := range audit {
		actions = append(actions, a.Action)
	}
	want := []string{"key.revoke", "key.update", "key.update", "key.update", "key.create"}
	if !reflect.DeepEqual(actions, want) {
		t.Errorf("audit = %v, want %v", actions, want)
	}
}

func TestAccounts(t *testing.T) {
	e := newEnv(t, envOpts{})
	ctx := actor()
	a, err := e.svc.CreateAccount(ctx, "acme")
	if err != nil {
		t.Fatal(err)
	}
	if a.ID == 0 || a.Name != "acme" || a.Keys != 0 || a.CreatedAt.IsZero() {
		t.Errorf("created %+v", a)
	}
	_, err = e.svc.CreateAccount(ctx, "acme")
	wantIs(t, err, store.ErrExists)
	for _, bad := range []string{"", " acme", "a\x00b", strings.Repeat("a", 200)} {
		_, err := e.svc.CreateAccount(ctx, bad)
		wantField(t, err, "name")
		_, err = e.svc.RenameAccount(ctx, a.ID, bad)
		wantField(t, err, "name")
	}
	for range 2 {
		if _, _, err := e.svc.CreateKey(ctx, manage.KeySpec{AccountID: a.ID}); err != nil {
			t.Fatal(err)
		}
	}
	b, err := e.svc.CreateAccount(ctx, "beta")
	if err != nil {
		t.Fatal(err)
	}
	r, err := e.svc.RenameAccount(ctx, a.ID, "acme-corp")
	if err != nil || r.Name != "acme-corp" || r.Keys != 2 || r.ID != a.ID {
		t.Errorf("renamed = %+v, %v", r, err)
	}
	_, err = e.svc.RenameAccount(ctx, b.ID, "acme-corp")
	wantIs(t, err, store.ErrExists)
	_, err = e.svc.RenameAccount(ctx, 999, "x")
	wantIs(t, err, store.ErrNotFound)
	got, err := e.svc.Account(ctx, a.ID)
	if err != nil || got.Name != "acme-corp" || got.Keys != 2 {
		t.Errorf("Account = %+v, %v", got, err)
	}
	_, err = e.svc.Account(ctx, 999)
	wantIs(t, err, store.ErrNotFound)
	list, err := e.svc.ListAccounts(ctx)
	if err != nil || len(list) != 2 || list[0].Keys != 2 || list[1].Keys != 0 || list[1].Name != "beta" {
		t.Errorf("ListAccounts = %+v, %v", list, err)
	}
}
