package manage_test

import (
	"encoding/json"
	"reflect"
	"strings"
	"testing"

	"github.com/aignehub/hub/host/config"
	"github.com/aignehub/hub/host/manage"
	"github.com/aignehub/hub/store"
)

func TestCreateProviderResolvesPlugins(t *testing.T) {
	cfg := &config.Config{Plugins: map[string]config.PluginEntry{
		"custom":   {Name: "custom", Source: "/plugins/custom.wasm"},
		"deepseek": {Name: "deepseek", Source: "/plugins/deepseek.wasm"}, // shadows the preset
		"openai":   {Name: "openai", Source: "builtin:openai"},           // as a loaded config has it
	}}
	tests := []struct {
		name        string
		cfg         *config.Config
		spec        manage.ProviderSpec
		wantPlugin  string
		wantBaseURL string
		wantOptions string
		wantRegion  string
	}{
		{
			name:        "preset fills base URL and options",
			spec:        manage.ProviderSpec{Name: "ds", Plugin: "deepseek"},
			wantPlugin:  "openai",
			wantBaseURL: "https://api.deepseek.com",
			wantOptions: `{"flavor":"deepseek"}`,
		},
		{
			name:        "given options merge over the preset's",
			spec:        manage.ProviderSpec{Name: "ds", Plugin: "deepseek", Options: map[string]any{"flavor": "mine", "x": 1.5}},
			wantPlugin:  "openai",
			wantBaseURL: "https://api.deepseek.com",
			wantOptions: `{"flavor":"mine","x":1.5}`,
		},
		{
			name:        "null removes a preset option",
			spec:        manage.ProviderSpec{Name: "ds", Plugin: "deepseek", Options: map[string]any{"flavor": nil}},
			wantPlugin:  "openai",
			wantBaseURL: "https://api.deepseek.com",
			wantOptions: `{}`,
		},
		{
			name:        "given base URL wins, trailing slash removed",
			spec:        manage.ProviderSpec{Name: "oa", Plugin: "openai", BaseURL: ptr("https://proxy.example/v1/")},
			wantPlugin:  "openai",
			wantBaseURL: "https://proxy.example/v1",
			wantOptions: `{}`,
		},
		{
			name:        "region fills the preset's base URL",
			spec:        manage.ProviderSpec{Name: "aws", Plugin: "bedrock", Region: ptr("eu-west-1")},
			wantPlugin:  "bedrock",
			wantBaseURL: "https://bedrock-runtime.eu-west-1.amazonaws.com",
			wantOptions: `{}`,
			wantRegion:  "eu-west-1",
		},
		{
			name:        "google preset names the gemini module",
			spec:        manage.ProviderSpec{Name: "g", Plugin: "google"},
			wantPlugin:  "gemini",
			wantBaseURL: "https://generativelanguage.googleapis.com",
			wantOptions: `{}`,
		},
		{
			name:        "configured plugin",
			cfg:         cfg,
			spec:        manage.ProviderSpec{Name: "c", Plugin: "custom", BaseURL: ptr("http://127.0.0.1:9000")},
			wantPlugin:  "custom",
			wantBaseURL: "http://127.0.0.1:9000",
			wantOptions: `{}`,
		},
		{
			name:        "the builtin entry of a preset's module keeps the preset",
			cfg:         cfg,
			spec:        manage.ProviderSpec{Name: "oa", Plugin: "openai"},
			wantPlugin:  "openai",
			wantBaseURL: "https://api.openai.com/v1",
			wantOptions: `{}`,
		},
		{
			name:        "a configured plugin shadows the preset of its name",
			cfg:         cfg,
			spec:        manage.ProviderSpec{Name: "d", Plugin: "deepseek", BaseURL: ptr("https://ds.example")},
			wantPlugin:  "deepseek",
			wantBaseURL: "https://ds.example",
			wantOptions: `{}`,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t, envOpts{cfg: tt.cfg})
			p, err := e.svc.CreateProvider(actor(), tt.spec)
			if err != nil {
				t.Fatal(err)
			}
			if p.Plugin != tt.wantPlugin || p.BaseURL != tt.wantBaseURL || string(p.Options) != tt.wantOptions || p.Region != tt.wantRegion {
				t.Errorf("got plugin %q base %q options %s region %q; want %q %q %s %q",
					p.Plugin, p.BaseURL, p.Options, p.Region, tt.wantPlugin, tt.wantBaseURL, tt.wantOptions, tt.wantRegion)
			}
			if !p.Enabled || p.ManagedBy != store.ManagedByAPI || len(p.Models) != 0 || p.Models == nil {
				t.Errorf("defaults: %+v", p)
			}
			stored, err := e.st.ProviderByName(actor(), tt.spec.Name)
			if err != nil || stored.Plugin != tt.wantPlugin || stored.BaseURL != tt.wantBaseURL || string(stored.Config) != tt.wantOptions {
				t.Errorf("stored %+v, %v", stored, err)
			}
			if e.changed.Load() != 1 {
				t.Errorf("Changed called %d times, want 1", e.changed.Load())
			}
		})
	}
}

func TestCreateProviderValidation(t *testing.T) {
	cfg := &config.Config{Plugins: map[string]config.PluginEntry{"deepseek": {Name: "deepseek", Source: "/x.wasm"}}}
	tests := []struct {
		name  string
		cfg   *config.Config
		spec  manage.ProviderSpec
		field string
	}{
		{"empty name", nil, manage.ProviderSpec{Plugin: "openai"}, "name"},
		{"bad name", nil, manage.ProviderSpec{Name: "Open AI", Plugin: "openai"}, "name"},
		{"empty plugin", nil, manage.ProviderSpec{Name: "a"}, "plugin"},
		{"unknown plugin", nil, manage.ProviderSpec{Name: "a", Plugin: "nope"}, "plugin"},
		{"no default base URL", nil, manage.ProviderSpec{Name: "a", Plugin: "openai-compatible"}, "base_url"},
		{"builtin without preset URL", cfg, manage.ProviderSpec{Name: "a", Plugin: "deepseek"}, "base_url"},
		{"region needed", nil, manage.ProviderSpec{Name: "a", Plugin: "bedrock"}, "region"},
		{"bad region", nil, manage.ProviderSpec{Name: "a", Plugin: "bedrock", Region: ptr("Mars")}, "region"},
		{"ftp URL", nil, manage.ProviderSpec{Name: "a", Plugin: "openai", BaseURL: ptr("ftp://x.example")}, "base_url"},
		{"relative URL", nil, manage.ProviderSpec{Name: "a", Plugin: "openai", BaseURL: ptr("/v1")}, "base_url"},
		{"URL with query", nil, manage.ProviderSpec{Name: "a", Plugin: "openai", BaseURL: ptr("https://x.example/?k=1")}, "base_url"},
		{"URL with fragment", nil, manage.ProviderSpec{Name: "a", Plugin: "openai", BaseURL: ptr("https://x.example/#f")}, "base_url"},
		{"empty model", nil, manage.ProviderSpec{Name: "a", Plugin: "openai", Models: &[]string{"gpt-4o", ""}}, "models[1]"},
		{"model with space", nil, manage.ProviderSpec{Name: "a", Plugin: "openai", Models: &[]string{"gpt 4o"}}, "models[0]"},
		{"duplicate model", nil, manage.ProviderSpec{Name: "a", Plugin: "openai", Models: &[]string{"a", "b", "a"}}, "models[2]"},
		{"options not JSON", nil, manage.ProviderSpec{Name: "a", Plugin: "openai", Options: map[string]any{"f": func() {}}}, "options"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t, envOpts{cfg: tt.cfg})
			_, err := e.svc.CreateProvider(actor(), tt.spec)
			wantField(t, err, tt.field)
			if ps, _ := e.st.ListProviders(actor()); len(ps) != 0 || e.changed.Load() != 0 {
				t.Errorf("a rejected create stored %v (changed %d)", ps, e.changed.Load())
			}
		})
	}
}

func TestBaseURLPasswordNotEchoed(t *testing.T) {
	e := newEnv(t, envOpts{})
	_, err := e.svc.CreateProvider(actor(), manage.ProviderSpec{Name: "a", Plugin: "openai", BaseURL: ptr("https://user:hunter2secret@x.example")})
	wantField(t, err, "base_url")
	if strings.Contains(err.Error(), "hunter2secret") {
		t.Errorf("error %q shows the URL's password", err)
	}
	_, err = e.svc.CreateProvider(actor(), manage.ProviderSpec{Name: "a", Plugin: "openai", BaseURL: ptr("ftp://user:hunter2secret@x.example")})
	wantField(t, err, "base_url")
	if strings.Contains(err.Error(), "hunter2secret") {
		t.Errorf("error %q shows the URL's password", err)
	}
}

func TestProviderLifecycle(t *testing.T) {
	e := newEnv(t, envOpts{})
	ctx := actor()
	p := mustProvider(t, e, manage.ProviderSpec{Name: "ds", Plugin: "deepseek", Models: &[]string{"deepseek-chat"}})
	if _, err := e.svc.CreateProvider(ctx, manage.ProviderSpec{Name: "ds", Plugin: "openai"}); err == nil {
		t.Fatal("created a provider twice")
	} else {
		wantIs(t, err, store.ErrExists)
	}

	got, err := e.svc.Provider(ctx, "ds")
	if err != nil || !reflect.DeepEqual(got, p) {
		t.Fatalf("Provider = %+v, %v; want %+v", got, err, p)
	}
	_, err = e.svc.Provider(ctx, "nope")
	wantIs(t, err, store.ErrNotFound)

	// A patch changes only what it sets; options merge key by key.
	up, err := e.svc.UpdateProvider(ctx, "ds", manage.ProviderSpec{
		Options: map[string]any{"org": "acme"},
		Models:  &[]string{"deepseek-chat", "deepseek-reasoner"},
		Enabled: ptr(false),
	})
	if err != nil {
		t.Fatal(err)
	}
	if string(up.Options) != `{"flavor":"deepseek","org":"acme"}` || up.Enabled || len(up.Models) != 2 || up.BaseURL != p.BaseURL {
		t.Errorf("updated = %+v", up)
	}
	up, err = e.svc.UpdateProvider(ctx, "ds", manage.ProviderSpec{Options: map[string]any{"org": nil}, BaseURL: ptr("https://other.example/")})
	if err != nil {
		t.Fatal(err)
	}
	if string(up.Options) != `{"flavor":"deepseek"}` || up.BaseURL != "https://other.example" || up.Enabled {
		t.Errorf("updated = %+v", up)
	}
	// Name and Plugin may repeat what is stored, a preset of the same
	// module included.
	for _, spec := range []manage.ProviderSpec{{Name: "ds"}, {Plugin: "openai"}, {Plugin: "deepseek"}, {Plugin: "xai"}} {
		if _, err := e.svc.UpdateProvider(ctx, "ds", spec); err != nil {
			t.Errorf("UpdateProvider(%+v) = %v", spec, err)
		}
	}

	for _, tt := range []struct {
		spec  manage.ProviderSpec
		field string
	}{
		{manage.ProviderSpec{Name: "other"}, "name"},
		{manage.ProviderSpec{Plugin: "anthropic"}, "plugin"},
		{manage.ProviderSpec{Plugin: "nope"}, "plugin"},
		{manage.ProviderSpec{BaseURL: ptr("")}, "base_url"},
		{manage.ProviderSpec{Region: ptr("nowhere")}, "region"},
		{manage.ProviderSpec{Models: &[]string{"a a"}}, "models[0]"},
	} {
		_, err := e.svc.UpdateProvider(ctx, "ds", tt.spec)
		wantField(t, err, tt.field)
	}
	_, err = e.svc.UpdateProvider(ctx, "nope", manage.ProviderSpec{Enabled: ptr(true)})
	wantIs(t, err, store.ErrNotFound)

	mustProvider(t, e, manage.ProviderSpec{Name: "anthropic", Plugin: "anthropic"})
	if _, err := e.svc.AddCredential(ctx, "ds", manage.CredentialSpec{Secret: ptr("env:DEEPSEEK_KEY")}); err != nil {
		t.Fatal(err)
	}
	list, err := e.svc.ListProviders(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(list) != 2 || list[0].Name != "anthropic" || list[1].Name != "ds" ||
		len(list[0].Credentials) != 0 || len(list[1].Credentials) != 1 || list[1].Credentials[0].Source != "env:DEEPSEEK_KEY" {
		t.Errorf("ListProviders = %+v", list)
	}

	before := e.changed.Load()
	if err := e.svc.DeleteProvider(ctx, "ds"); err != nil {
		t.Fatal(err)
	}
	if e.changed.Load() != before+1 {
		t.Error("Changed not called after a delete")
	}
	wantIs(t, e.svc.DeleteProvider(ctx, "ds"), store.ErrNotFound)
	if creds, _ := e.st.ListAllCredentials(ctx); len(creds) != 0 {
		t.Errorf("credentials outlived their provider: %v", creds)
	}

	audit, err := e.svc.ListAudit(ctx, store.AuditFilter{Action: "provider.*"})
	if err != nil {
		t.Fatal(err)
	}
	var actions []string
	for _, a := range audit {
		if a.Actor != "cli:test" {
			t.Errorf("audit actor %q", a.Actor)
		}
		actions = append(actions, a.Action+" "+a.Target)
	}
	want := []string{"provider.delete ds", "provider.create anthropic", "provider.update ds", "provider.update ds", "provider.create ds"}
	if !reflect.DeepEqual(actions, want) {
		t.Errorf("audit = %q, want %q", actions, want)
	}
}

func TestProviderViewJSON(t *testing.T) {
	e := newEnv(t, envOpts{})
	mustProvider(t, e, manage.ProviderSpec{Name: "oa", Plugin: "openai"})
	if _, err := e.svc.AddCredential(actor(), "oa", manage.CredentialSpec{Secret: ptr("sk-live-0123456789abcdef")}); err != nil {
		t.Fatal(err)
	}
	p, err := e.svc.Provider(actor(), "oa")
	if err != nil {
		t.Fatal(err)
	}
	b, err := json.Marshal(p)
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{"name", "plugin", "base_url", "region", "options", "models", "enabled", "managed_by", "created_at", "updated_at", "credentials"} {
		if _, ok := m[k]; !ok {
			t.Errorf("provider JSON lacks %q: %s", k, b)
		}
	}
	c := m["credentials"].([]any)[0].(map[string]any)
	for _, k := range []string{"id", "provider", "name", "source", "hint", "weight", "enabled", "managed_by", "created_at", "updated_at"} {
		if _, ok := c[k]; !ok {
			t.Errorf("credential JSON lacks %q: %s", k, b)
		}
	}
	if c["hint"] != "****cdef" || c["source"] != "encrypted" || c["name"] != "oa-1" || c["weight"] != 1.0 {
		t.Errorf("credential JSON = %v", c)
	}
	if _, ok := c["secret"]; ok {
		t.Errorf("credential JSON has a secret field: %s", b)
	}
}
