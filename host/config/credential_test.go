package config

import (
	"bytes"
	"encoding/json"
	"fmt"
	"log/slog"
	"strings"
	"testing"
)

const secret = "sk-proj-SUPERSECRETvalue9876"

func TestCredentialMasking(t *testing.T) {
	tests := []struct {
		raw  string
		want string // String()
	}{
		{secret, "literal:****9876"},
		{"short-secret", "literal:****cret"}, // 12 characters: the last 4 show
		{"sk-shorty1", "literal:****"},       // shorter: nothing shows
		{"env:OPENAI_API_KEY", "env:OPENAI_API_KEY"},
		{"", ""},
	}
	for _, tt := range tests {
		t.Run(tt.want, func(t *testing.T) {
			c := NewCredential(tt.raw)
			if got := c.String(); got != tt.want {
				t.Errorf("String() = %q, want %q", got, tt.want)
			}
		})
	}
}

// A literal secret never shows, however a Credential or a value holding one is
// printed, logged or encoded.
func TestCredentialNeverRevealsSecret(t *testing.T) {
	c := NewCredential(secret)
	p := &Provider{Name: "p", Credentials: []Credential{c, NewCredential("env:K")}}
	type hidden struct {
		name string
		cred Credential // unexported: fmt cannot call its methods
	}
	h := hidden{"x", c}

	var outputs []string
	for _, verb := range []string{"%v", "%+v", "%#v", "%s", "%q", "%x", "%X", "%d", "%T %v", "%10s", "%-20v"} {
		for _, v := range []any{c, &c, p, *p, []Credential{c}, h, &h, map[string]Credential{"k": c}} {
			outputs = append(outputs, verb+": "+fmt.Sprintf(verb, v))
		}
	}
	outputs = append(outputs, fmt.Sprint(c), fmt.Sprintln(p), c.GoString())

	for _, newHandler := range []func(*bytes.Buffer) slog.Handler{
		func(b *bytes.Buffer) slog.Handler { return slog.NewTextHandler(b, nil) },
		func(b *bytes.Buffer) slog.Handler { return slog.NewJSONHandler(b, nil) },
	} {
		var b bytes.Buffer
		log := slog.New(newHandler(&b))
		log.Info("cred", "credential", c, "provider", p, "any", any(c), slog.Any("list", p.Credentials))
		outputs = append(outputs, b.String())
	}

	js, err := json.Marshal(p)
	if err != nil {
		t.Fatal(err)
	}
	outputs = append(outputs, string(js))
	text, _ := c.MarshalText()
	outputs = append(outputs, string(text))

	for _, out := range outputs {
		if strings.Contains(out, "SUPERSECRET") {
			t.Errorf("secret revealed: %s", out)
		}
	}
	if !strings.Contains(string(js), `"literal:****9876"`) {
		t.Errorf("JSON = %s, want the masked credential", js)
	}
	if got := fmt.Sprintf("%#v", c); got != `config.Credential("literal:****9876")` {
		t.Errorf("%%#v = %s", got)
	}
}

func TestCredentialResolve(t *testing.T) {
	lookup := env(map[string]string{"KEY": "sk-from-env", "EMPTY": ""})
	tests := []struct {
		raw, want, wantErr string
	}{
		{"env:KEY", "sk-from-env", ""},
		{secret, secret, ""},
		{"env:MISSING", "", "environment variable MISSING is not set"},
		{"env:EMPTY", "", "environment variable EMPTY is empty"},
		{"env:1X", "", "invalid environment variable name"},
		{"", "", "empty credential"},
	}
	for _, tt := range tests {
		t.Run(tt.raw, func(t *testing.T) {
			c := NewCredential(tt.raw)
			got, err := c.Resolve(lookup)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("Resolve() = %q, %v; want error %q", got, err, tt.wantErr)
				}
				return
			}
			if err != nil || got != tt.want {
				t.Errorf("Resolve() = %q, %v; want %q", got, err, tt.want)
			}
		})
	}
	if c := NewCredential("env:KEY"); !c.IsEnv() || c.EnvName() != "KEY" || c.IsZero() {
		t.Error("env credential accessors")
	}
	if c := NewCredential(secret); c.IsEnv() || c.EnvName() != "" {
		t.Error("literal credential accessors")
	}
	if !(Credential{}).IsZero() {
		t.Error("zero credential not IsZero")
	}
}

// A config holding a literal secret never shows it in errors or when printed.
func TestConfigWithLiteralSecret(t *testing.T) {
	src := provider(`credentials = ["` + secret + `", "` + secret + `"]`)
	_, err := testOptions.Parse([]byte(src), "s.toml")
	if err == nil || strings.Contains(err.Error(), "SUPERSECRET") || !strings.Contains(err.Error(), "literal:****9876") {
		t.Errorf("error = %v", err)
	}
	c, err := testOptions.Parse([]byte(provider(`credentials = ["`+secret+`"]`)), "s.toml")
	if err != nil {
		t.Fatal(err)
	}
	for _, out := range []string{fmt.Sprintf("%v", c), fmt.Sprintf("%+v", c), fmt.Sprintf("%#v", c)} {
		if strings.Contains(out, "SUPERSECRET") {
			t.Errorf("secret revealed: %s", out)
		}
	}
	if got, _ := c.Providers[0].Credentials[0].Resolve(nil); got != secret {
		t.Errorf("Resolve() = %q", got)
	}
}
