package store

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"strings"
	"testing"
	"time"
)

func TestUpsertProvider(t *testing.T) {
	ctx := context.Background()
	s, _ := openTest(t, Options{})

	p, err := s.UpsertProvider(ctx, Provider{Name: "openai", Plugin: "openai", BaseURL: "https://api.openai.com/v1", Enabled: true})
	if err != nil {
		t.Fatal(err)
	}
	if p.ID == 0 || string(p.Config) != "{}" || !p.Enabled || p.CreatedAt.IsZero() || !p.UpdatedAt.Equal(p.CreatedAt) {
		t.Fatalf("created provider = %+v", p)
	}

	time.Sleep(5 * time.Millisecond)
	same, err := s.UpsertProvider(ctx, Provider{Name: "openai", Plugin: "openai", BaseURL: "https://api.openai.com/v1", Enabled: true})
	if err != nil {
		t.Fatal(err)
	}
	if same.ID != p.ID || !same.UpdatedAt.Equal(p.UpdatedAt) {
		t.Errorf("unchanged upsert = %+v, want %+v", same, p)
	}

	changed, err := s.UpsertProvider(ctx, Provider{Name: "openai", Plugin: "openai", BaseURL: "https://eu.example/v1", Config: json.RawMessage(`{"org":"x"}`)})
	if err != nil {
		t.Fatal(err)
	}
	if changed.ID != p.ID || !changed.CreatedAt.Equal(p.CreatedAt) || !changed.UpdatedAt.After(p.UpdatedAt) {
		t.Errorf("changed upsert = %+v, was %+v", changed, p)
	}
	if changed.BaseURL != "https://eu.example/v1" || string(changed.Config) != `{"org":"x"}` || changed.Enabled {
		t.Errorf("changed upsert did not store the new fields: %+v", changed)
	}

	if _, err := s.UpsertProvider(ctx, Provider{Name: "anthropic", Plugin: "anthropic", Enabled: true}); err != nil {
		t.Fatal(err)
	}
	list, err := s.ListProviders(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(list) != 2 || list[0].Name != "anthropic" || list[1].Name != "openai" {
		t.Errorf("ListProviders = %+v, want anthropic then openai", list)
	}
	byName, err := s.ProviderByName(ctx, "openai")
	if err != nil || byName.ID != p.ID {
		t.Errorf("ProviderByName = %+v, %v", byName, err)
	}
	if _, err := s.ProviderByName(ctx, "nope"); !errors.Is(err, ErrNotFound) {
		t.Errorf("ProviderByName(nope) = %v, want ErrNotFound", err)
	}

	for _, bad := range []Provider{
		{Plugin: "openai"},
		{Name: "x"},
		{Name: "x", Plugin: "openai", Config: json.RawMessage(`{`)},
	} {
		if _, err := s.UpsertProvider(ctx, bad); err == nil {
			t.Errorf("UpsertProvider(%+v) succeeded", bad)
		}
	}
}

func TestReplaceCredentials(t *testing.T) {
	ctx := context.Background()
	s, _ := openTest(t, Options{})
	p, err := s.UpsertProvider(ctx, Provider{Name: "openai", Plugin: "openai", Enabled: true})
	if err != nil {
		t.Fatal(err)
	}
	other, err := s.UpsertProvider(ctx, Provider{Name: "other", Plugin: "openai", Enabled: true})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.ReplaceCredentials(ctx, other.ID, []Credential{{Name: "a", SecretRef: "env:OTHER"}}); err != nil {
		t.Fatal(err)
	}

	err = s.ReplaceCredentials(ctx, p.ID, []Credential{
		{Name: "a", SecretRef: "env:KEY_A", Weight: 3, Enabled: true},
		{Name: "b", SecretRef: "env:KEY_B", Enabled: true},
		{Name: "c", Ciphertext: []byte{1, 2, 3}},
	})
	if err != nil {
		t.Fatal(err)
	}
	first, err := s.ListCredentials(ctx, p.ID)
	if err != nil {
		t.Fatal(err)
	}
	if len(first) != 3 {
		t.Fatalf("ListCredentials = %+v, want 3", first)
	}
	if c := first[0]; c.Name != "a" || c.SecretRef != "env:KEY_A" || c.Weight != 3 || !c.Enabled || c.ProviderID != p.ID || c.Ciphertext != nil {
		t.Errorf("credential a = %+v", c)
	}
	if c := first[1]; c.Weight != 1 {
		t.Errorf("credential b weight = %d, want the default 1", c.Weight)
	}
	if c := first[2]; string(c.Ciphertext) != "\x01\x02\x03" || c.Enabled {
		t.Errorf("credential c = %+v", c)
	}

	// Re-seed: a changes, b goes, c stays, d is new.
	err = s.ReplaceCredentials(ctx, p.ID, []Credential{
		{Name: "c", Ciphertext: []byte{1, 2, 3}},
		{Name: "a", SecretRef: "env:KEY_A2", Weight: 1, Enabled: false},
		{Name: "d", SecretRef: "env:KEY_D", Enabled: true},
	})
	if err != nil {
		t.Fatal(err)
	}
	second, err := s.ListCredentials(ctx, p.ID)
	if err != nil {
		t.Fatal(err)
	}
	byName := map[string]Credential{}
	for _, c := range second {
		byName[c.Name] = c
	}
	if len(second) != 3 {
		t.Fatalf("after re-seeding: %+v", second)
	}
	if _, ok := byName["b"]; ok {
		t.Error("credential b survived re-seeding")
	}
	if a := byName["a"]; a.ID != first[0].ID || a.SecretRef != "env:KEY_A2" || a.Enabled || !a.CreatedAt.Equal(first[0].CreatedAt) {
		t.Errorf("credential a after re-seeding = %+v, want id %d with new fields", a, first[0].ID)
	}
	if c := byName["c"]; c.ID != first[2].ID {
		t.Errorf("credential c changed ID from %d to %d", first[2].ID, c.ID)
	}

	// The other provider's credentials are untouched.
	others, err := s.ListCredentials(ctx, other.ID)
	if err != nil || len(others) != 1 {
		t.Errorf("other provider's credentials = %+v, %v", others, err)
	}

	// Replacing with nothing removes everything.
	if err := s.ReplaceCredentials(ctx, p.ID, nil); err != nil {
		t.Fatal(err)
	}
	if cs, err := s.ListCredentials(ctx, p.ID); err != nil || len(cs) != 0 {
		t.Errorf("after replacing with nothing: %+v, %v", cs, err)
	}
}

func TestReplaceCredentialsErrors(t *testing.T) {
	ctx := context.Background()
	s, _ := openTest(t, Options{})
	p, err := s.UpsertProvider(ctx, Provider{Name: "openai", Plugin: "openai"})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.ReplaceCredentials(ctx, p.ID, []Credential{{Name: "keep", SecretRef: "env:K"}}); err != nil {
		t.Fatal(err)
	}
	if err := s.ReplaceCredentials(ctx, 9999, nil); !errors.Is(err, ErrNotFound) {
		t.Errorf("unknown provider: %v, want ErrNotFound", err)
	}
	for name, creds := range map[string][]Credential{
		"empty name":      {{SecretRef: "env:X"}},
		"duplicate name":  {{Name: "x"}, {Name: "x"}},
		"negative weight": {{Name: "x", Weight: -1}},
	} {
		if err := s.ReplaceCredentials(ctx, p.ID, creds); err == nil {
			t.Errorf("%s: ReplaceCredentials succeeded", name)
		}
	}
	cs, err := s.ListCredentials(ctx, p.ID)
	if err != nil || len(cs) != 1 || cs[0].Name != "keep" {
		t.Errorf("failed replacements changed the credentials: %+v, %v", cs, err)
	}
}

// providersVersion reads ProvidersVersion or fails the test.
func providersVersion(t testing.TB, s *Store) int64 {
	t.Helper()
	v, err := s.ProvidersVersion(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return v
}

func TestUpsertProviderNewFields(t *testing.T) {
	ctx := actorCtx()
	s, _ := openTest(t, Options{})
	in := Provider{
		Name: "bedrock", Plugin: "bedrock", Enabled: true,
		Config: json.RawMessage(`{ "a": [1, 2] }`),
		Models: []string{"anthropic.claude-3", "amazon.nova"},
		Region: "us-east-1",
	}
	p, err := s.UpsertProvider(ctx, in)
	if err != nil {
		t.Fatal(err)
	}
	if p.ManagedBy != ManagedByConfig || p.Region != "us-east-1" || !reflect.DeepEqual(p.Models, in.Models) || string(p.Config) != `{"a":[1,2]}` {
		t.Fatalf("stored %+v", p)
	}
	got, err := s.ProviderByName(ctx, "bedrock")
	if err != nil || !reflect.DeepEqual(got, p) {
		t.Errorf("ProviderByName = %+v, %v\nwant %+v", got, err, p)
	}
	byID, err := s.ProviderByID(ctx, p.ID)
	if err != nil || !reflect.DeepEqual(byID, p) {
		t.Errorf("ProviderByID = %+v, %v", byID, err)
	}
	if _, err := s.ProviderByID(ctx, 9999); !errors.Is(err, ErrNotFound) {
		t.Errorf("ProviderByID(9999) = %v", err)
	}
	es := auditLog(t, s)
	if summary(es) != "provider.create bedrock\n" {
		t.Fatalf("audit:\n%s", summary(es))
	}
	if d := detail(t, es[0]); d["region"] != "us-east-1" || d["managed_by"] != "config" || d["plugin"] != "bedrock" {
		t.Errorf("create detail = %v", d)
	}
	if es[0].Actor != testActor.Name || es[0].ActorKeyID != testActor.KeyID {
		t.Errorf("audit actor = %q/%d", es[0].Actor, es[0].ActorKeyID)
	}

	// The same provider again, config spelt differently: nothing written,
	// no audit row, no version bump.
	v := providersVersion(t, s)
	in.Config = json.RawMessage(`{"a":[1,2]}`)
	same, err := s.UpsertProvider(ctx, in)
	if err != nil || !reflect.DeepEqual(same, p) {
		t.Errorf("unchanged upsert = %+v, %v", same, err)
	}
	if got := providersVersion(t, s); got != v {
		t.Errorf("unchanged upsert moved the version from %d to %d", v, got)
	}
	if n := len(auditLog(t, s)); n != 1 {
		t.Errorf("unchanged upsert audited: %d rows", n)
	}

	// Changing only the models is a change, audited with just that field.
	in.Models = nil
	changed, err := s.UpsertProvider(ctx, in)
	if err != nil {
		t.Fatal(err)
	}
	if changed.Models != nil || !changed.UpdatedAt.After(p.UpdatedAt) && !changed.UpdatedAt.Equal(p.UpdatedAt) {
		t.Errorf("changed = %+v", changed)
	}
	if got := providersVersion(t, s); got <= v {
		t.Error("changing the models left the version alone")
	}
	es = auditSince(t, s, 1)
	if summary(es) != "provider.update bedrock\n" {
		t.Fatalf("audit:\n%s", summary(es))
	}
	if d := detail(t, es[0]); len(d) != 1 || d["models"] == nil {
		t.Errorf("update detail = %v, want just models", d)
	}
}

func TestProviderValidation(t *testing.T) {
	ctx := context.Background()
	s, _ := openTest(t, Options{})
	valid := Provider{Name: "openai", Plugin: "openai"}
	tests := []struct {
		name string
		edit func(*Provider)
	}{
		{"empty name", func(p *Provider) { p.Name = "" }},
		{"upper case name", func(p *Provider) { p.Name = "OpenAI" }},
		{"name with slash", func(p *Provider) { p.Name = "open/ai" }},
		{"name starting with dash", func(p *Provider) { p.Name = "-openai" }},
		{"empty plugin", func(p *Provider) { p.Plugin = "" }},
		{"config not JSON", func(p *Provider) { p.Config = json.RawMessage(`{`) }},
		{"config an array", func(p *Provider) { p.Config = json.RawMessage(`[]`) }},
		{"config a string", func(p *Provider) { p.Config = json.RawMessage(`"x"`) }},
		{"empty model", func(p *Provider) { p.Models = []string{"a", ""} }},
		{"model with space", func(p *Provider) { p.Models = []string{"gpt 4o"} }},
		{"duplicate model", func(p *Provider) { p.Models = []string{"a", "b", "a"} }},
		{"bad managed_by", func(p *Provider) { p.ManagedBy = "terraform" }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := valid
			tt.edit(&p)
			if _, err := s.UpsertProvider(ctx, p); err == nil {
				t.Error("UpsertProvider succeeded")
			}
			if _, err := s.CreateProvider(ctx, p); err == nil {
				t.Error("CreateProvider succeeded")
			}
		})
	}
	if ps, err := s.ListProviders(ctx); err != nil || len(ps) != 0 {
		t.Errorf("invalid providers were stored: %+v, %v", ps, err)
	}
	if ps, err := s.CreateProvider(ctx, Provider{Name: "a0_b-c", Plugin: "x", Models: []string{"m"}}); err != nil || ps.ManagedBy != ManagedByAPI {
		t.Errorf("valid name: %+v, %v", ps, err)
	}
}

func TestCreateUpdateDeleteProvider(t *testing.T) {
	ctx := actorCtx()
	s, _ := openTest(t, Options{})
	v0 := providersVersion(t, s)

	p, err := s.CreateProvider(ctx, Provider{Name: "azure", Plugin: "openai", BaseURL: "https://a.example", Enabled: true})
	if err != nil {
		t.Fatal(err)
	}
	if p.ID == 0 || p.ManagedBy != ManagedByAPI || string(p.Config) != "{}" || !p.Enabled {
		t.Fatalf("created %+v", p)
	}
	v1 := providersVersion(t, s)
	if v1 <= v0 {
		t.Error("creating a provider left the version alone")
	}
	if _, err := s.CreateProvider(ctx, Provider{Name: "azure", Plugin: "other"}); !errors.Is(err, ErrExists) {
		t.Errorf("duplicate create = %v, want ErrExists", err)
	}
	cfg, err := s.CreateProvider(ctx, Provider{Name: "seeded", Plugin: "openai", ManagedBy: ManagedByConfig})
	if err != nil || cfg.ManagedBy != ManagedByConfig {
		t.Errorf("create with ManagedBy config = %+v, %v", cfg, err)
	}

	// Update overwrites everything but ManagedBy.
	time.Sleep(2 * time.Millisecond)
	up, err := s.UpdateProvider(ctx, Provider{
		Name: "azure", Plugin: "azure", BaseURL: "https://b.example", Config: json.RawMessage(`{"v":1}`),
		Models: []string{"gpt-4o"}, Region: "eu", ManagedBy: ManagedByConfig,
	})
	if err != nil {
		t.Fatal(err)
	}
	want := Provider{ID: p.ID, Name: "azure", Plugin: "azure", BaseURL: "https://b.example", Config: json.RawMessage(`{"v":1}`),
		Enabled: false, Models: []string{"gpt-4o"}, Region: "eu", ManagedBy: ManagedByAPI, CreatedAt: p.CreatedAt, UpdatedAt: up.UpdatedAt}
	if !reflect.DeepEqual(up, want) || !up.UpdatedAt.After(p.UpdatedAt) {
		t.Errorf("updated = %+v\nwant %+v", up, want)
	}
	if got, _ := s.ProviderByName(ctx, "azure"); !reflect.DeepEqual(got, up) {
		t.Errorf("read back %+v", got)
	}
	v2 := providersVersion(t, s)
	n := len(auditLog(t, s))
	same, err := s.UpdateProvider(ctx, up)
	if err != nil || !reflect.DeepEqual(same, up) {
		t.Errorf("unchanged update = %+v, %v", same, err)
	}
	if providersVersion(t, s) != v2 || len(auditLog(t, s)) != n {
		t.Error("an unchanged update wrote")
	}
	if _, err := s.UpdateProvider(ctx, Provider{Name: "nope", Plugin: "x"}); !errors.Is(err, ErrNotFound) {
		t.Errorf("update of a missing provider = %v, want ErrNotFound", err)
	}
	if _, err := s.UpdateProvider(ctx, Provider{Name: "azure", Plugin: ""}); err == nil {
		t.Error("update to an empty plugin succeeded")
	}

	// Delete takes the credentials with it.
	if err := s.ReplaceCredentials(ctx, up.ID, []Credential{{Name: "c1", SecretRef: "env:A"}}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.AddCredential(ctx, up.ID, Credential{Name: "c2", Ciphertext: []byte{9}}); err != nil {
		t.Fatal(err)
	}
	v3 := providersVersion(t, s)
	n = len(auditLog(t, s))
	if err := s.DeleteProvider(ctx, "azure"); err != nil {
		t.Fatal(err)
	}
	if _, err := s.ProviderByName(ctx, "azure"); !errors.Is(err, ErrNotFound) {
		t.Errorf("deleted provider still there: %v", err)
	}
	if c := queryInt(t, s, "SELECT count(*) FROM credentials;"); c != 0 {
		t.Errorf("%d credentials survived their provider", c)
	}
	if providersVersion(t, s) <= v3 {
		t.Error("deleting a provider left the version alone")
	}
	es := auditSince(t, s, n)
	if summary(es) != "provider.delete azure\n" {
		t.Fatalf("audit:\n%s", summary(es))
	}
	if d := detail(t, es[0]); d["credentials"] != float64(2) {
		t.Errorf("delete detail = %v", d)
	}
	if err := s.DeleteProvider(ctx, "azure"); !errors.Is(err, ErrNotFound) {
		t.Errorf("second delete = %v, want ErrNotFound", err)
	}

	all := summary(auditLog(t, s))
	wantAudit := "provider.create azure\nprovider.create seeded\nprovider.update azure\n" +
		"credential.create azure/c1\ncredential.create azure/c2\nprovider.delete azure\n"
	if all != wantAudit {
		t.Errorf("audit log:\n%s\nwant:\n%s", all, wantAudit)
	}
}

func TestReplaceCredentialsKeepsAPICredentials(t *testing.T) {
	ctx := actorCtx()
	s, _ := openTest(t, Options{})
	p, err := s.UpsertProvider(ctx, Provider{Name: "openai", Plugin: "openai"})
	if err != nil {
		t.Fatal(err)
	}
	api, err := s.AddCredential(ctx, p.ID, Credential{Name: "from-api", Ciphertext: []byte("ct"), Hint: "****abcd", Weight: 5, Enabled: true})
	if err != nil {
		t.Fatal(err)
	}
	// A credential claiming to be API-managed in creds is stored as config.
	err = s.ReplaceCredentials(ctx, p.ID, []Credential{
		{Name: "openai-1", SecretRef: "env:K1", Enabled: true, ManagedBy: ManagedByAPI},
		{Name: "openai-2", SecretRef: "env:K2", Enabled: true},
	})
	if err != nil {
		t.Fatal(err)
	}
	check := func(wantNames ...string) map[string]Credential {
		t.Helper()
		cs, err := s.ListCredentials(ctx, p.ID)
		if err != nil {
			t.Fatal(err)
		}
		byName := map[string]Credential{}
		var names []string
		for _, c := range cs {
			byName[c.Name] = c
			names = append(names, c.Name)
		}
		if strings.Join(names, ",") != strings.Join(wantNames, ",") {
			t.Fatalf("credentials %v, want %v", names, wantNames)
		}
		return byName
	}
	cs := check("from-api", "openai-1", "openai-2")
	if cs["openai-1"].ManagedBy != ManagedByConfig || cs["from-api"].ManagedBy != ManagedByAPI {
		t.Errorf("managed_by: %+v", cs)
	}
	if !reflect.DeepEqual(cs["from-api"], api) {
		t.Errorf("api credential = %+v, want %+v", cs["from-api"], api)
	}

	// Re-seeding with nothing removes the config credentials only.
	if err := s.ReplaceCredentials(ctx, p.ID, nil); err != nil {
		t.Fatal(err)
	}
	cs = check("from-api")
	if !reflect.DeepEqual(cs["from-api"], api) {
		t.Errorf("api credential changed: %+v", cs["from-api"])
	}

	// A config credential may not take an API credential's name, and the
	// failed replacement leaves everything, audit log included, as it was.
	if err := s.ReplaceCredentials(ctx, p.ID, []Credential{{Name: "keep", SecretRef: "env:K"}}); err != nil {
		t.Fatal(err)
	}
	n := len(auditLog(t, s))
	v := providersVersion(t, s)
	err = s.ReplaceCredentials(ctx, p.ID, []Credential{{Name: "new", SecretRef: "env:N"}, {Name: "from-api", SecretRef: "env:X"}})
	if err == nil || !strings.Contains(err.Error(), "from-api") {
		t.Errorf("collision = %v, want an error naming the credential", err)
	}
	check("from-api", "keep")
	if len(auditLog(t, s)) != n || providersVersion(t, s) != v {
		t.Error("a failed replacement left audit rows or a version bump")
	}

	es := auditLog(t, s)
	want := "provider.create openai\ncredential.create openai/from-api\n" +
		"credential.create openai/openai-1\ncredential.create openai/openai-2\n" +
		"credential.delete openai/openai-1\ncredential.delete openai/openai-2\n" +
		"credential.create openai/keep\n"
	if summary(es) != want {
		t.Errorf("audit:\n%s\nwant:\n%s", summary(es), want)
	}
}

func TestReplaceCredentialsUnchangedWritesNothing(t *testing.T) {
	ctx := actorCtx()
	s, _ := openTest(t, Options{})
	p, err := s.UpsertProvider(ctx, Provider{Name: "openai", Plugin: "openai"})
	if err != nil {
		t.Fatal(err)
	}
	creds := []Credential{
		{Name: "a", SecretRef: "env:A", Enabled: true},
		{Name: "b", Ciphertext: []byte("ct"), Hint: "****wxyz", Weight: 2},
	}
	if err := s.ReplaceCredentials(ctx, p.ID, creds); err != nil {
		t.Fatal(err)
	}
	before, err := s.ListCredentials(ctx, p.ID)
	if err != nil {
		t.Fatal(err)
	}
	n, v := len(auditLog(t, s)), providersVersion(t, s)
	time.Sleep(2 * time.Millisecond)
	if err := s.ReplaceCredentials(ctx, p.ID, creds); err != nil {
		t.Fatal(err)
	}
	after, err := s.ListCredentials(ctx, p.ID)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(before, after) {
		t.Errorf("re-seeding the same credentials changed them:\n%+v\n%+v", before, after)
	}
	if len(auditLog(t, s)) != n || providersVersion(t, s) != v {
		t.Error("re-seeding the same credentials wrote")
	}

	// One change: one audit row, with the hint and never the ciphertext.
	creds[1].Ciphertext = []byte("new-ciphertext")
	creds[1].Hint = "****9876"
	if err := s.ReplaceCredentials(ctx, p.ID, creds); err != nil {
		t.Fatal(err)
	}
	es := auditSince(t, s, n)
	if summary(es) != "credential.update openai/b\n" {
		t.Fatalf("audit:\n%s", summary(es))
	}
	if string(es[0].Detail) != `{"secret":"****9876"}` {
		t.Errorf("detail = %s", es[0].Detail)
	}
	b := after[1]
	got, err := s.CredentialByID(ctx, b.ID)
	if err != nil || string(got.Ciphertext) != "new-ciphertext" || !got.UpdatedAt.After(b.UpdatedAt) || !got.CreatedAt.Equal(b.CreatedAt) {
		t.Errorf("updated credential = %+v, %v", got, err)
	}
}

func TestAddCredential(t *testing.T) {
	ctx := actorCtx()
	s, _ := openTest(t, Options{})
	p, err := s.CreateProvider(ctx, Provider{Name: "openai", Plugin: "openai"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.AddCredential(ctx, p.ID, Credential{Name: "taken", SecretRef: "env:T"}); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name       string
		providerID int64
		c          Credential
		wantErr    error // nil: any error when wantOK is false
		wantOK     bool
		check      func(t *testing.T, c Credential)
	}{
		{name: "ciphertext", providerID: p.ID, wantOK: true,
			c: Credential{Name: "enc", Ciphertext: []byte{1, 2}, Hint: "****abcd", Enabled: true},
			check: func(t *testing.T, c Credential) {
				if c.ManagedBy != ManagedByAPI || c.Weight != 1 || c.Hint != "****abcd" || string(c.Ciphertext) != "\x01\x02" ||
					c.SecretRef != "" || !c.Enabled || c.UpdatedAt.IsZero() || !c.UpdatedAt.Equal(c.CreatedAt) || c.ProviderID != p.ID {
					t.Errorf("stored %+v", c)
				}
			}},
		{name: "reference", providerID: p.ID, wantOK: true,
			c: Credential{Name: "ref", SecretRef: "env:OPENAI_API_KEY", Weight: 3},
			check: func(t *testing.T, c Credential) {
				if c.SecretRef != "env:OPENAI_API_KEY" || c.Ciphertext != nil || c.Weight != 3 || c.Enabled {
					t.Errorf("stored %+v", c)
				}
			}},
		{name: "no secret", providerID: p.ID, wantOK: true, c: Credential{Name: "none", Enabled: true}},
		{name: "managed by config", providerID: p.ID, wantOK: true,
			c: Credential{Name: "cfg", ManagedBy: ManagedByConfig},
			check: func(t *testing.T, c Credential) {
				if c.ManagedBy != ManagedByConfig {
					t.Errorf("stored %+v", c)
				}
			}},
		{name: "short hint", providerID: p.ID, wantOK: true, c: Credential{Name: "short", Ciphertext: []byte{1}, Hint: "****"}},
		{name: "duplicate name", providerID: p.ID, c: Credential{Name: "taken"}, wantErr: ErrExists},
		{name: "unknown provider", providerID: 9999, c: Credential{Name: "x"}, wantErr: ErrNotFound},
		{name: "both secrets", providerID: p.ID, c: Credential{Name: "both", SecretRef: "env:X", Ciphertext: []byte{1}}},
		{name: "empty name", providerID: p.ID, c: Credential{SecretRef: "env:X"}},
		{name: "name with slash", providerID: p.ID, c: Credential{Name: "a/b"}},
		{name: "negative weight", providerID: p.ID, c: Credential{Name: "neg", Weight: -1}},
		{name: "secret as hint", providerID: p.ID, c: Credential{Name: "leak", Ciphertext: []byte{1}, Hint: "sk-live-123456789"}},
		{name: "hint too long", providerID: p.ID, c: Credential{Name: "leak", Ciphertext: []byte{1}, Hint: "****abcde"}},
		{name: "bad managed_by", providerID: p.ID, c: Credential{Name: "bad", ManagedBy: "x"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			n := len(auditLog(t, s))
			c, err := s.AddCredential(ctx, tt.providerID, tt.c)
			if !tt.wantOK {
				if err == nil {
					t.Fatalf("AddCredential succeeded: %+v", c)
				}
				if tt.wantErr != nil && !errors.Is(err, tt.wantErr) {
					t.Errorf("err = %v, want %v", err, tt.wantErr)
				}
				if len(auditLog(t, s)) != n {
					t.Error("a failed add was audited")
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if c.ID == 0 || c.Name != tt.c.Name {
				t.Errorf("stored %+v", c)
			}
			if tt.check != nil {
				tt.check(t, c)
			}
			got, err := s.CredentialByID(ctx, c.ID)
			if err != nil || !reflect.DeepEqual(got, c) {
				t.Errorf("CredentialByID = %+v, %v\nwant %+v", got, err, c)
			}
			es := auditSince(t, s, n)
			if summary(es) != "credential.create openai/"+tt.c.Name+"\n" {
				t.Errorf("audit:\n%s", summary(es))
			}
		})
	}
	es, err := s.ListAudit(ctx, AuditFilter{Target: "openai/enc"})
	if err != nil || len(es) != 1 {
		t.Fatalf("audit of enc: %v, %v", es, err)
	}
	if d := detail(t, es[0]); d["secret"] != "****abcd" || d["weight"] != float64(1) || d["enabled"] != true || d["managed_by"] != "api" {
		t.Errorf("detail = %v", d)
	}
	es, err = s.ListAudit(ctx, AuditFilter{Target: "openai/ref"})
	if err != nil || len(es) != 1 || detail(t, es[0])["secret_ref"] != "env:OPENAI_API_KEY" {
		t.Errorf("audit of ref: %v, %v", es, err)
	}
	if _, err := s.CredentialByID(ctx, 9999); !errors.Is(err, ErrNotFound) {
		t.Errorf("CredentialByID(9999) = %v", err)
	}
}

func TestUpdateCredential(t *testing.T) {
	ctx := actorCtx()
	s, _ := openTest(t, Options{})
	p, err := s.CreateProvider(ctx, Provider{Name: "openai", Plugin: "openai"})
	if err != nil {
		t.Fatal(err)
	}
	intp := func(v int) *int { return &v }
	boolp := func(v bool) *bool { return &v }
	strp := func(v string) *string { return &v }

	tests := []struct {
		name    string
		start   Credential
		patch   CredentialPatch
		want    func(c Credential) Credential // from the stored start
		detail  string                        // "" means no audit row (no change)
		wantErr error
		anyErr  bool
	}{
		{
			name:   "weight and enabled",
			start:  Credential{SecretRef: "env:A", Weight: 1},
			patch:  CredentialPatch{Weight: intp(4), Enabled: boolp(true)},
			want:   func(c Credential) Credential { c.Weight, c.Enabled = 4, true; return c },
			detail: `{"enabled":true,"weight":4}`,
		},
		{
			name:   "zero weight means one",
			start:  Credential{SecretRef: "env:A", Weight: 3},
			patch:  CredentialPatch{Weight: intp(0)},
			want:   func(c Credential) Credential { c.Weight = 1; return c },
			detail: `{"weight":1}`,
		},
		{
			name:  "ciphertext replaces reference",
			start: Credential{SecretRef: "env:A"},
			patch: CredentialPatch{Ciphertext: []byte("ct"), Hint: strp("****wxyz")},
			want: func(c Credential) Credential {
				c.SecretRef, c.Ciphertext, c.Hint = "", []byte("ct"), "****wxyz"
				return c
			},
			detail: `{"secret":"****wxyz"}`,
		},
		{
			name:   "reference replaces ciphertext and clears the hint",
			start:  Credential{Ciphertext: []byte("ct"), Hint: "****wxyz"},
			patch:  CredentialPatch{SecretRef: strp("env:B")},
			want:   func(c Credential) Credential { c.SecretRef, c.Ciphertext, c.Hint = "env:B", nil, ""; return c },
			detail: `{"secret_ref":"env:B"}`,
		},
		{
			name:   "new ciphertext without a hint",
			start:  Credential{Ciphertext: []byte("old"), Hint: "****wxyz"},
			patch:  CredentialPatch{Ciphertext: []byte("new")},
			want:   func(c Credential) Credential { c.Ciphertext, c.Hint = []byte("new"), ""; return c },
			detail: `{"secret":"****"}`,
		},
		{
			name:   "remove the secret",
			start:  Credential{Ciphertext: []byte("ct"), Hint: "****wxyz"},
			patch:  CredentialPatch{SecretRef: strp("")},
			want:   func(c Credential) Credential { c.Ciphertext, c.Hint = nil, ""; return c },
			detail: `{"secret":null}`,
		},
		{
			name:   "hint only",
			start:  Credential{Ciphertext: []byte("ct")},
			patch:  CredentialPatch{Hint: strp("****1234")},
			want:   func(c Credential) Credential { c.Hint = "****1234"; return c },
			detail: `{"secret":"****1234"}`,
		},
		{
			name:  "no change",
			start: Credential{SecretRef: "env:A", Weight: 2, Enabled: true},
			patch: CredentialPatch{Weight: intp(2), Enabled: boolp(true), SecretRef: strp("env:A")},
			want:  func(c Credential) Credential { return c },
		},
		{name: "empty patch", start: Credential{SecretRef: "env:A"}, want: func(c Credential) Credential { return c }},
		{name: "both secrets", start: Credential{}, patch: CredentialPatch{SecretRef: strp("env:A"), Ciphertext: []byte{1}}, anyErr: true},
		{name: "negative weight", start: Credential{}, patch: CredentialPatch{Weight: intp(-2)}, anyErr: true},
		{name: "bad hint", start: Credential{Ciphertext: []byte{1}}, patch: CredentialPatch{Hint: strp("sk-abcdefghijkl")}, anyErr: true},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.start.Name = fmt.Sprint("c", i)
			start, err := s.AddCredential(ctx, p.ID, tt.start)
			if err != nil {
				t.Fatal(err)
			}
			n, v := len(auditLog(t, s)), providersVersion(t, s)
			time.Sleep(2 * time.Millisecond)
			got, err := s.UpdateCredential(ctx, start.ID, tt.patch)
			if tt.anyErr || tt.wantErr != nil {
				if err == nil || tt.wantErr != nil && !errors.Is(err, tt.wantErr) {
					t.Fatalf("err = %v", err)
				}
				if stored, _ := s.CredentialByID(ctx, start.ID); !reflect.DeepEqual(stored, start) {
					t.Errorf("failed update changed the credential to %+v", stored)
				}
				if len(auditLog(t, s)) != n {
					t.Error("failed update audited")
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			want := tt.want(start)
			if tt.detail != "" {
				if !got.UpdatedAt.After(start.UpdatedAt) {
					t.Errorf("UpdatedAt %v not after %v", got.UpdatedAt, start.UpdatedAt)
				}
				want.UpdatedAt = got.UpdatedAt
			}
			if !reflect.DeepEqual(got, want) {
				t.Errorf("updated = %+v\nwant %+v", got, want)
			}
			if stored, _ := s.CredentialByID(ctx, start.ID); !reflect.DeepEqual(stored, got) {
				t.Errorf("read back %+v", stored)
			}
			es := auditSince(t, s, n)
			if tt.detail == "" {
				if len(es) != 0 || providersVersion(t, s) != v {
					t.Errorf("an update without change wrote: %s", summary(es))
				}
				return
			}
			if len(es) != 1 || es[0].Action != "credential.update" || es[0].Target != "openai/"+start.Name {
				t.Fatalf("audit:\n%s", summary(es))
			}
			if string(es[0].Detail) != tt.detail {
				t.Errorf("detail = %s, want %s", es[0].Detail, tt.detail)
			}
			if providersVersion(t, s) <= v {
				t.Error("update left the providers version alone")
			}
		})
	}
	if _, err := s.UpdateCredential(ctx, 9999, CredentialPatch{Enabled: boolp(true)}); !errors.Is(err, ErrNotFound) {
		t.Errorf("UpdateCredential(9999) = %v, want ErrNotFound", err)
	}
}

func TestDeleteAndListAllCredentials(t *testing.T) {
	ctx := actorCtx()
	s, _ := openTest(t, Options{})
	// Created in this order so that name order and ID order differ.
	b, err := s.CreateProvider(ctx, Provider{Name: "b", Plugin: "x"})
	if err != nil {
		t.Fatal(err)
	}
	a, err := s.CreateProvider(ctx, Provider{Name: "a", Plugin: "x"})
	if err != nil {
		t.Fatal(err)
	}
	var ids []int64
	for _, pc := range []struct {
		p    int64
		name string
	}{{a.ID, "a1"}, {b.ID, "b1"}, {a.ID, "a2"}, {b.ID, "b2"}} {
		c, err := s.AddCredential(ctx, pc.p, Credential{Name: pc.name})
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, c.ID)
	}
	list := func() string {
		t.Helper()
		cs, err := s.ListAllCredentials(ctx)
		if err != nil {
			t.Fatal(err)
		}
		var names []string
		for _, c := range cs {
			names = append(names, c.Name)
		}
		return strings.Join(names, ",")
	}
	if got := list(); got != "b1,b2,a1,a2" { // by provider ID, then ID
		t.Errorf("ListAllCredentials = %s", got)
	}
	n, v := len(auditLog(t, s)), providersVersion(t, s)
	if err := s.DeleteCredential(ctx, ids[1]); err != nil {
		t.Fatal(err)
	}
	if got := list(); got != "b2,a1,a2" {
		t.Errorf("after delete: %s", got)
	}
	if es := auditSince(t, s, n); summary(es) != "credential.delete b/b1\n" {
		t.Errorf("audit:\n%s", summary(es))
	}
	if providersVersion(t, s) <= v {
		t.Error("delete left the providers version alone")
	}
	if err := s.DeleteCredential(ctx, ids[1]); !errors.Is(err, ErrNotFound) {
		t.Errorf("second delete = %v, want ErrNotFound", err)
	}
}

func TestRewrapCiphertexts(t *testing.T) {
	ctx := actorCtx()
	s, _ := openTest(t, Options{})
	p, err := s.CreateProvider(ctx, Provider{Name: "openai", Plugin: "openai"})
	if err != nil {
		t.Fatal(err)
	}
	q, err := s.CreateProvider(ctx, Provider{Name: "anthropic", Plugin: "anthropic"})
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		p int64
		c Credential
	}{
		{p.ID, Credential{Name: "k1", Ciphertext: []byte("old-1"), Hint: "****0001"}},
		{p.ID, Credential{Name: "ref", SecretRef: "env:X"}},
		{q.ID, Credential{Name: "k2", Ciphertext: []byte("old-2")}},
		{q.ID, Credential{Name: "k3", Ciphertext: []byte("old-3")}},
		{p.ID, Credential{Name: "none"}},
	} {
		if _, err := s.AddCredential(ctx, c.p, c.c); err != nil {
			t.Fatal(err)
		}
	}
	snapshot := func() []Credential {
		t.Helper()
		cs, err := s.ListAllCredentials(ctx)
		if err != nil {
			t.Fatal(err)
		}
		return cs
	}
	before := snapshot()
	n := len(auditLog(t, s))

	t.Run("fails on the third", func(t *testing.T) {
		calls := 0
		got, err := s.RewrapCiphertexts(ctx, func(provider string, c Credential) ([]byte, error) {
			calls++
			if calls == 3 {
				return nil, errors.New("boom")
			}
			return append([]byte("new-"), c.Ciphertext...), nil
		})
		if err == nil || got != 0 || !strings.Contains(err.Error(), "boom") || !strings.Contains(err.Error(), "anthropic/k3") {
			t.Fatalf("RewrapCiphertexts = %d, %v", got, err)
		}
		if strings.Contains(err.Error(), "old-") {
			t.Errorf("error holds ciphertext: %v", err)
		}
		if calls != 3 {
			t.Errorf("fn called %d times", calls)
		}
		if after := snapshot(); !reflect.DeepEqual(after, before) {
			t.Errorf("a failed rewrap changed credentials:\n%+v\n%+v", before, after)
		}
		if len(auditLog(t, s)) != n {
			t.Error("a failed rewrap was audited")
		}
	})

	t.Run("empty ciphertext", func(t *testing.T) {
		_, err := s.RewrapCiphertexts(ctx, func(string, Credential) ([]byte, error) { return nil, nil })
		if err == nil {
			t.Fatal("an empty new ciphertext was accepted")
		}
		if after := snapshot(); !reflect.DeepEqual(after, before) {
			t.Error("a failed rewrap changed credentials")
		}
	})

	t.Run("success", func(t *testing.T) {
		seen := map[string]string{}
		got, err := s.RewrapCiphertexts(ctx, func(provider string, c Credential) ([]byte, error) {
			seen[provider+"/"+c.Name] = string(c.Ciphertext)
			return append([]byte("new-"), c.Ciphertext...), nil
		})
		if err != nil || got != 3 {
			t.Fatalf("RewrapCiphertexts = %d, %v", got, err)
		}
		want := map[string]string{"openai/k1": "old-1", "anthropic/k2": "old-2", "anthropic/k3": "old-3"}
		if !reflect.DeepEqual(seen, want) {
			t.Errorf("fn saw %v", seen)
		}
		after := snapshot()
		for i, c := range after {
			b := before[i]
			if len(b.Ciphertext) > 0 {
				b.Ciphertext = append([]byte("new-"), b.Ciphertext...)
			}
			if !reflect.DeepEqual(c, b) { // UpdatedAt and hints unchanged too
				t.Errorf("credential %s = %+v, want %+v", c.Name, c, b)
			}
		}
		es := auditSince(t, s, n)
		if summary(es) != "master_key.rotate \n" || string(es[0].Detail) != `{"credentials":3}` {
			t.Errorf("audit:\n%s%s", summary(es), es[0].Detail)
		}
	})
}

func TestProvidersVersion(t *testing.T) {
	ctx := context.Background()
	s, _ := openTest(t, Options{})
	steps := []struct {
		name string
		do   func(p *Provider) error
		bump bool
	}{
		{"create", func(p *Provider) (err error) {
			*p, err = s.UpsertProvider(ctx, Provider{Name: "openai", Plugin: "openai"})
			return err
		}, true},
		{"same upsert", func(p *Provider) error {
			_, err := s.UpsertProvider(ctx, Provider{Name: "openai", Plugin: "openai"})
			return err
		}, false},
		{"seed credentials", func(p *Provider) error {
			return s.ReplaceCredentials(ctx, p.ID, []Credential{{Name: "a", SecretRef: "env:A"}})
		}, true},
		{"same credentials", func(p *Provider) error {
			return s.ReplaceCredentials(ctx, p.ID, []Credential{{Name: "a", SecretRef: "env:A"}})
		}, false},
		{"add credential", func(p *Provider) error {
			_, err := s.AddCredential(ctx, p.ID, Credential{Name: "b"})
			return err
		}, true},
		{"update provider", func(p *Provider) error {
			_, err := s.UpdateProvider(ctx, Provider{Name: "openai", Plugin: "openai", Enabled: true})
			return err
		}, true},
		{"unrelated key", func(p *Provider) error {
			_, err := s.EnsureAccount(ctx, "acme")
			return err
		}, false},
	}
	var p Provider
	for _, st := range steps {
		v := providersVersion(t, s)
		if err := st.do(&p); err != nil {
			t.Fatalf("%s: %v", st.name, err)
		}
		if got := providersVersion(t, s); (got > v) != st.bump {
			t.Errorf("%s: version %d -> %d, want bump %v", st.name, v, got, st.bump)
		}
	}
}
