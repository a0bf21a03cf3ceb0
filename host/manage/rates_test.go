package manage_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"testing"

	"github.com/aignehub/hub/host/manage"
	"github.com/aignehub/hub/host/secrets"
	"github.com/aignehub/hub/store"
)

func TestRates(t *testing.T) {
	e := newEnv(t, envOpts{})
	ctx := actor()
	for _, tt := range []struct {
		r     store.ModelRate
		field string
	}{
		{store.ModelRate{}, "model"},
		{store.ModelRate{Model: "gpt 4o"}, "model"},
		{store.ModelRate{Model: "gpt-4o\n"}, "model"},
		{store.ModelRate{Model: "m", InputPerM: -1}, "input_per_m"},
		{store.ModelRate{Model: "m", OutputPerM: -1}, "output_per_m"},
		{store.ModelRate{Model: "m", CachedReadPerM: -1}, "cached_read_per_m"},
		{store.ModelRate{Model: "m", CacheWritePerM: -1}, "cache_write_per_m"},
		{store.ModelRate{Model: "m", PerImage: -1}, "per_image"},
		{store.ModelRate{Model: "m", MinPerCall: -1}, "min_per_call"},
	} {
		_, err := e.svc.SetRate(ctx, tt.r)
		wantField(t, err, tt.field)
	}

	r, err := e.svc.SetRate(ctx, store.ModelRate{Model: "openai/gpt-4o", InputPerM: 2_500_000, OutputPerM: 10_000_000, CachedReadPerM: 1_250_000})
	if err != nil {
		t.Fatal(err)
	}
	if r.UpdatedAt.IsZero() || r.InputPerM != 2_500_000 {
		t.Errorf("set = %+v", r)
	}
	if _, err := e.svc.SetRate(ctx, store.ModelRate{Model: "dall-e-3", PerImage: 40_000, MinPerCall: 1}); err != nil {
		t.Fatal(err)
	}
	got, err := e.svc.Rate(ctx, "openai/gpt-4o")
	if err != nil || !reflect.DeepEqual(got, r) {
		t.Errorf("Rate = %+v, %v; want %+v", got, err, r)
	}
	list, err := e.svc.ListRates(ctx)
	if err != nil || len(list) != 2 || list[0].Model != "dall-e-3" {
		t.Errorf("ListRates = %+v, %v", list, err)
	}

	v := manage.NewRateView(r)
	if !reflect.DeepEqual(v.ModelRate(), r) {
		t.Errorf("view round trip: %+v != %+v", v.ModelRate(), r)
	}
	b, _ := json.Marshal(v)
	var m map[string]any
	json.Unmarshal(b, &m)
	for _, k := range []string{"model", "input_per_m", "output_per_m", "cached_read_per_m", "cache_write_per_m", "per_image", "min_per_call", "updated_at"} {
		if _, ok := m[k]; !ok {
			t.Errorf("rate JSON lacks %q: %s", k, b)
		}
	}

	if err := e.svc.DeleteRate(ctx, "openai/gpt-4o"); err != nil {
		t.Fatal(err)
	}
	wantIs(t, e.svc.DeleteRate(ctx, "openai/gpt-4o"), store.ErrNotFound)
	_, err = e.svc.Rate(ctx, "openai/gpt-4o")
	wantIs(t, err, store.ErrNotFound)

	audit, _ := e.svc.ListAudit(ctx, store.AuditFilter{Action: "rate.*"})
	if len(audit) != 3 || audit[0].Action != "rate.delete" || audit[0].Target != "openai/gpt-4o" {
		t.Errorf("audit = %+v", audit)
	}
}

func TestAuditListAndAppend(t *testing.T) {
	e := newEnv(t, envOpts{})
	ctx := store.WithActor(context.Background(), store.Actor{Name: "key:7:sk-hub-AbCdEf", KeyID: 7})
	mustProvider(t, e, manage.ProviderSpec{Name: "oa", Plugin: "openai"})
	if _, err := e.svc.CreateProvider(ctx, manage.ProviderSpec{Name: "an", Plugin: "anthropic"}); err != nil {
		t.Fatal(err)
	}
	if err := e.svc.AppendAudit(ctx, "credential.test", "an/an-1", map[string]any{"ok": true}); err != nil {
		t.Fatal(err)
	}
	if err := e.svc.AppendAudit(ctx, "credential.test", "an/an-1", []int{1}); err == nil {
		t.Error("AppendAudit took a detail that is not an object")
	}
	// Without an actor, nothing is audited.
	if _, err := e.svc.CreateProvider(context.Background(), manage.ProviderSpec{Name: "quiet", Plugin: "openai"}); err != nil {
		t.Fatal(err)
	}

	all, err := e.svc.ListAudit(ctx, store.AuditFilter{})
	if err != nil {
		t.Fatal(err)
	}
	if len(all) != 3 {
		t.Fatalf("audit = %+v", all)
	}
	mine, err := e.svc.ListAudit(ctx, store.AuditFilter{Actor: "key:7:sk-hub-AbCdEf"})
	if err != nil || len(mine) != 2 || mine[0].Action != "credential.test" || mine[0].ActorKeyID != 7 || mine[1].Target != "an" {
		t.Errorf("by actor = %+v, %v", mine, err)
	}
	page, err := e.svc.ListAudit(ctx, store.AuditFilter{Limit: 1, BeforeID: mine[0].ID})
	if err != nil || len(page) != 1 || page[0].ID != mine[1].ID {
		t.Errorf("page = %+v, %v", page, err)
	}
	_, err = e.svc.ListAudit(ctx, store.AuditFilter{Limit: -1})
	wantField(t, err, "limit")
	_, err = e.svc.ListAudit(ctx, store.AuditFilter{BeforeID: -1})
	wantField(t, err, "before")

	v := manage.NewAuditView(mine[0])
	b, _ := json.Marshal(v)
	want := `"actor":"key:7:sk-hub-AbCdEf","actor_key_id":7,"action":"credential.test","target":"an/an-1","detail":{"ok":true}}`
	if !bytes.HasSuffix(b, []byte(want)) {
		t.Errorf("audit view JSON = %s, want it to end %s", b, want)
	}
	if v := manage.NewAuditView(store.AuditEntry{}); string(v.Detail) != "{}" {
		t.Errorf("empty detail = %s", v.Detail)
	}
}

func TestRotateMasterKey(t *testing.T) {
	e := newEnv(t, envOpts{})
	ctx := actor()
	mustProvider(t, e, manage.ProviderSpec{Name: "oa", Plugin: "openai"})
	mustProvider(t, e, manage.ProviderSpec{Name: "an", Plugin: "anthropic"})
	secretsByID := map[int64]string{}
	for _, c := range []struct{ provider, secret string }{
		{"oa", "sk-rotate-oa-0000000001"}, {"oa", "sk-rotate-oa-0000000002"}, {"an", "sk-rotate-an-0000000003"},
	} {
		v, err := e.svc.AddCredential(ctx, c.provider, manage.CredentialSpec{Secret: ptr(c.secret)})
		if err != nil {
			t.Fatal(err)
		}
		secretsByID[v.ID] = c.secret
	}
	if _, err := e.svc.AddCredential(ctx, "an", manage.CredentialSpec{Secret: ptr("env:ANTHROPIC_KEY")}); err != nil {
		t.Fatal(err)
	}
	oldID := e.kr.KeyID()
	before := e.changed.Load()

	res, err := e.svc.RotateMasterKey(ctx, e.dataDir, noEnv)
	if err != nil {
		t.Fatal(err)
	}
	if res.Rewrapped != 3 || res.OldKeyID != oldID || res.NewKeyID == oldID || res.NewKeyID == "" {
		t.Errorf("result = %+v (old key %s)", res, oldID)
	}
	if e.changed.Load() != before+1 {
		t.Error("Changed not called after a rotation")
	}
	if _, err := os.Stat(filepath.Join(e.dataDir, secrets.KeyFile+".next")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("master.key.next left behind: %v", err)
	}

	// A keyring loaded afresh has only the new key, and opens every secret
	// under its credential's AAD.
	kr, err := secrets.Load(e.dataDir, noEnv)
	if err != nil {
		t.Fatal(err)
	}
	if kr.KeyID() != res.NewKeyID {
		t.Fatalf("reloaded key %s, want %s", kr.KeyID(), res.NewKeyID)
	}
	creds, err := e.st.ListAllCredentials(ctx)
	if err != nil {
		t.Fatal(err)
	}
	providers := map[int64]string{}
	ps, _ := e.st.ListProviders(ctx)
	for _, p := range ps {
		providers[p.ID] = p.Name
	}
	opened := 0
	for _, c := range creds {
		if len(c.Ciphertext) == 0 {
			continue
		}
		if id, _ := secrets.KeyIDOf(c.Ciphertext); id != res.NewKeyID {
			t.Errorf("credential %s sealed under %s", c.Name, id)
		}
		pt, err := kr.Open(c.Ciphertext, secrets.AAD(providers[c.ProviderID], c.Name))
		if err != nil || string(pt) != secretsByID[c.ID] {
			t.Errorf("credential %s: Open = %v", c.Name, err)
		}
		opened++
	}
	if opened != 3 {
		t.Errorf("opened %d secrets, want 3", opened)
	}

	audit, err := e.svc.ListAudit(ctx, store.AuditFilter{Action: "master_key.rotate"})
	if err != nil || len(audit) != 1 || audit[0].Actor != "cli:test" || string(audit[0].Detail) != `{"credentials":3}` {
		t.Errorf("audit = %+v, %v", audit, err)
	}

	// The service's own keyring seals new secrets under the new key.
	v, err := e.svc.AddCredential(ctx, "oa", manage.CredentialSpec{Secret: ptr("sk-after-rotation-0004")})
	if err != nil {
		t.Fatal(err)
	}
	c, _ := e.st.CredentialByID(ctx, v.ID)
	if id, _ := secrets.KeyIDOf(c.Ciphertext); id != res.NewKeyID {
		t.Errorf("sealed after rotation under %s, want %s", id, res.NewKeyID)
	}
}

func TestRotateMasterKeyFailureChangesNothing(t *testing.T) {
	e := newEnv(t, envOpts{})
	ctx := actor()
	mustProvider(t, e, manage.ProviderSpec{Name: "oa", Plugin: "openai"})
	v, err := e.svc.AddCredential(ctx, "oa", manage.CredentialSpec{Secret: ptr("sk-rotate-fail-000000001")})
	if err != nil {
		t.Fatal(err)
	}
	// Corrupt the stored ciphertext: the rotation cannot open it.
	c, _ := e.st.CredentialByID(ctx, v.ID)
	bad := bytes.Clone(c.Ciphertext)
	bad[len(bad)-1] ^= 1
	if _, err := e.st.UpdateCredential(context.Background(), v.ID, store.CredentialPatch{Ciphertext: bad, Hint: ptr("****0001")}); err != nil {
		t.Fatal(err)
	}
	oldID := e.kr.KeyID()
	before := e.changed.Load()
	if _, err := e.svc.RotateMasterKey(ctx, e.dataDir, noEnv); !errors.Is(err, secrets.ErrTampered) {
		t.Fatalf("rotation over a tampered ciphertext = %v, want ErrTampered", err)
	}
	if e.changed.Load() != before {
		t.Error("Changed called after a failed rotation")
	}
	kr, err := secrets.Load(e.dataDir, noEnv)
	if err != nil || kr.KeyID() != oldID {
		t.Errorf("after a failed rotation the key is %s (%v), want %s", kr.KeyID(), err, oldID)
	}
	if audit, _ := e.svc.ListAudit(ctx, store.AuditFilter{Action: "master_key.rotate"}); len(audit) != 0 {
		t.Errorf("a failed rotation was audited: %+v", audit)
	}
}
