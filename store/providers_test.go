package store

import (
	"context"
	"encoding/json"
	"errors"
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
