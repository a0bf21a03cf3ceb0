package config

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"reflect"
	"strings"
	"testing"
)

func TestCredentialTableForm(t *testing.T) {
	type want struct {
		str    string // String()
		weight int
		name   string // Name()
		full   string // CredentialName
	}
	tests := []struct {
		name string
		src  string
		want []want
	}{
		{"strings only keep their default names", provider(`credentials = ["env:A", "env:B"]`), []want{
			{"env:A", 1, "", "p-1"},
			{"env:B", 1, "", "p-2"},
		}},
		{"mixed", provider(`credentials = ["env:A", { secret = "env:B", weight = 3, name = "backup" }, { secret = "env:C" }]`), []want{
			{"env:A", 1, "", "p-1"},
			{"env:B", 3, "backup", "backup"},
			{"env:C", 1, "", "p-3"},
		}},
		{"weight bounds", provider(`credentials = [{ secret = "env:A", weight = 1 }, { secret = "env:B", weight = 1000 }]`), []want{
			{"env:A", 1, "", "p-1"},
			{"env:B", 1000, "", "p-2"},
		}},
		{"name only", provider(`credentials = [{ secret = "env:A", name = "a_1-x" }]`), []want{
			{"env:A", 1, "a_1-x", "a_1-x"},
		}},
		{"a set name may be another position's default", provider(`credentials = [{ secret = "env:A", name = "p-2" }, { secret = "env:B", name = "p-1" }]`), []want{
			{"env:A", 1, "p-2", "p-2"},
			{"env:B", 1, "p-1", "p-1"},
		}},
		{"array of tables", provider() + "[[providers.credentials]]\nsecret = \"env:A\"\nweight = 2\n[[providers.credentials]]\nsecret = \"env:B\"\nname = \"second\"\n", []want{
			{"env:A", 2, "", "p-1"},
			{"env:B", 1, "second", "second"},
		}},
		{"literal in a table", provider(`credentials = [{ secret = "` + secret + `", weight = 5 }]`), []want{
			{"literal:****9876", 5, "", "p-1"},
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := testOptions.Parse([]byte(tt.src), "c.toml")
			if err != nil {
				t.Fatal(err)
			}
			p := &c.Providers[0]
			if len(p.Credentials) != len(tt.want) {
				t.Fatalf("%d credentials, want %d", len(p.Credentials), len(tt.want))
			}
			for i, w := range tt.want {
				cr := p.Credentials[i]
				got := want{cr.String(), cr.Weight(), cr.Name(), p.CredentialName(i)}
				if got != w {
					t.Errorf("credential %d = %+v, want %+v", i, got, w)
				}
			}
		})
	}
}

func TestCredentialTableResolves(t *testing.T) {
	c, err := testOptions.Parse([]byte(provider(`credentials = [{ secret = "env:KEY", weight = 2 }, { secret = "`+secret+`" }]`)), "c.toml")
	if err != nil {
		t.Fatal(err)
	}
	creds := c.Providers[0].Credentials
	if got, err := creds[0].Resolve(env(map[string]string{"KEY": "sk-env"})); err != nil || got != "sk-env" {
		t.Errorf("Resolve(env) = %q, %v", got, err)
	}
	if !creds[0].IsEnv() || creds[0].EnvName() != "KEY" || creds[0].IsZero() {
		t.Error("env accessors of a table credential")
	}
	if got, err := creds[1].Resolve(nil); err != nil || got != secret {
		t.Errorf("Resolve(literal) = %q, %v", got, err)
	}
}

func TestCredentialNameDefaults(t *testing.T) {
	p := &Provider{Name: "openai", Credentials: []Credential{
		NewCredential("env:A"),
		NewCredentialWith("env:B", CredentialOptions{Weight: 7, Name: "b"}),
		NewCredentialWith("env:C", CredentialOptions{}),
	}}
	for i, want := range []string{"openai-1", "b", "openai-3", "openai-4"} {
		if got := p.CredentialName(i); got != want {
			t.Errorf("CredentialName(%d) = %q, want %q", i, got, want)
		}
	}
	if got := p.CredentialName(-1); got != "openai-0" {
		t.Errorf("CredentialName(-1) = %q", got)
	}
	for i, want := range []int{1, 7, 1} {
		if got := p.Credentials[i].Weight(); got != want {
			t.Errorf("Weight of %d = %d, want %d", i, got, want)
		}
	}
	var zero Credential
	if zero.Weight() != 1 || zero.Name() != "" || !zero.IsZero() {
		t.Errorf("zero Credential: weight %d, name %q", zero.Weight(), zero.Name())
	}
}

func TestCredentialTableProblems(t *testing.T) {
	tests := []struct {
		name  string
		creds string // the credentials value
		path  string // the one problem expected
		line  int
		msg   string // a substring of its message
	}{
		{"weight zero", `[{ secret = "env:A", weight = 0 }]`, "providers[0].credentials[0].weight", 7, "must be between 1 and 1000; got 0 (to stop using a credential, remove it)"},
		{"weight negative", `[{ secret = "env:A", weight = -2 }]`, "providers[0].credentials[0].weight", 7, "got -2"},
		{"weight too large", `["env:B", { secret = "env:A", weight = 1001 }]`, "providers[0].credentials[1].weight", 7, "must be between 1 and 1000; got 1001"},
		{"weight huge", `[{ secret = "env:A", weight = 9223372036854775807 }]`, "providers[0].credentials[0].weight", 7, "got 9223372036854775807"},
		{"name invalid", `[{ secret = "env:A", name = "Backup Key" }]`, "providers[0].credentials[0].name", 7, `invalid credential name "Backup Key": must match ^[a-z0-9][a-z0-9_-]*$`},
		{"name with slash", `[{ secret = "env:A", name = "a/b" }]`, "providers[0].credentials[0].name", 7, "invalid credential name"},
		{"name empty", `["env:B", { secret = "env:A", name = "" }]`, "providers[0].credentials[1].name", 7, `must not be empty (leave name out for the default "p-2")`},
		{"name duplicate", `[{ secret = "env:A", name = "k" }, { secret = "env:B", name = "k" }]`, "providers[0].credentials[1].name", 7, `duplicate credential name "k" (also credentials[0])`},
		{"name takes a default name", `["env:A", { secret = "env:B", name = "p-1" }]`, "providers[0].credentials[1].name", 7, `credential name "p-1" is the default name of credentials[0], which has no name; choose another`},
		{"name takes a later default name", `[{ secret = "env:B", name = "p-3" }, "env:A", "env:C"]`, "providers[0].credentials[0].name", 7, `default name of credentials[2]`},
		{"secret missing", `[{ weight = 2 }]`, "providers[0].credentials[0]", 7, `needs a secret`},
		{"secret empty", `[{ secret = "" }]`, "providers[0].credentials[0].secret", 7, "must not be empty"},
		{"secret bad env name", `[{ secret = "env:9X" }]`, "providers[0].credentials[0].secret", 7, "invalid environment variable name"},
		{"secret whitespace", `[{ secret = "sk-abc " }]`, "providers[0].credentials[0].secret", 7, "whitespace"},
		{"secret duplicates a string", `["env:A", { secret = "env:A", weight = 2 }]`, "providers[0].credentials[1].secret", 7, "duplicate credential env:A (also credentials[0])"},
		{"string duplicates a secret", `[{ secret = "env:A" }, "env:A"]`, "providers[0].credentials[1]", 7, "duplicate credential env:A (also credentials[0])"},
		{"unknown key", `[{ secret = "env:A", wieght = 3 }]`, "providers[0].credentials[0].wieght", 7, `unknown key (did you mean "weight"?)`},
		{"unknown key after a string", `["env:A", { secret = "env:B", Name = "x" }]`, "providers[0].credentials[1].Name", 7, `unknown key (did you mean "name"?)`},
		{"unknown table key", `[{ secret = "env:A", extra = { a = 1 } }]`, "providers[0].credentials[0].extra", 7, "unknown key"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := testOptions.Parse([]byte(provider(`credentials = `+tt.creds)), "c.toml")
			var ve *ValidationError
			if !errors.As(err, &ve) {
				t.Fatalf("error = %v, want *ValidationError", err)
			}
			if len(ve.Problems) != 1 {
				t.Fatalf("problems = %v, want one", ve.Problems)
			}
			p := ve.Problems[0]
			if p.Path != tt.path || p.Line != tt.line || !strings.Contains(p.Message, tt.msg) {
				t.Errorf("problem = %s (line %d)\nwant %s at line %d with %q", p, p.Line, tt.path, tt.line, tt.msg)
			}
		})
	}
}

// Problems inside credential tables are placed on their own lines when the tables
// are spread over lines, and on their [[providers.credentials]] headers.
func TestCredentialTableProblemLines(t *testing.T) {
	tests := []struct {
		name string
		src  string
		want []Problem // Path and Line
	}{
		{"inline tables over lines", provider(`credentials = [`, `  { secret = "env:A" },`, `  { secret = "env:B", weight = 0 },`, `  { secret = "env:C", foo = 1 },`, `]`),
			[]Problem{{Path: "providers[0].credentials[1].weight", Line: 9}, {Path: "providers[0].credentials[2].foo", Line: 10}}},
		{"after a string, on the list's key", provider(`credentials = ["env:A",`, `  { secret = "env:B", foo = 1 }]`),
			[]Problem{{Path: "providers[0].credentials[1].foo", Line: 7}}},
		{"arrays of tables in two providers", provider() + "[[providers.credentials]]\nsecret = \"env:A\"\n" +
			provider(`name = "q"`) + "[[providers.credentials]]\nsecret = \"env:A\"\n\n[[providers.credentials]]\nweight = 2\n\n[[providers.credentials]]\nsecret = \"env:C\"\nweight = 0\nfoo = 1\n",
			[]Problem{
				{Path: "providers[1].credentials[1]", Line: 18},
				{Path: "providers[1].credentials[2].weight", Line: 23},
				{Path: "providers[1].credentials[2].foo", Line: 24},
			}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := testOptions.Parse([]byte(tt.src), "c.toml")
			var ve *ValidationError
			if !errors.As(err, &ve) {
				t.Fatalf("error = %v, want *ValidationError", err)
			}
			var got []Problem
			for _, p := range ve.Problems {
				got = append(got, Problem{Path: p.Path, Line: p.Line})
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("problems = %+v, want %+v\n%v", got, tt.want, err)
			}
		})
	}
}

func TestCredentialTableDecodeErrors(t *testing.T) {
	tests := []struct {
		name, creds, msg string
	}{
		{"secret not a string", `[{ secret = 12 }]`, "a credential's secret must be a string"},
		{"weight not an integer", `[{ secret = "env:A", weight = "3" }]`, "a credential's weight must be an integer 1..1000, not a string"},
		{"weight a float", `[{ secret = "env:A", weight = 1.5 }]`, "not a float"},
		{"name not a string", `[{ secret = "env:A", name = 1 }]`, "a credential's name must be a string, not an integer"},
		{"neither string nor table", `[true]`, `a credential must be a string ("env:NAME" or a literal) or a table`},
		{"an array", `[["env:A"]]`, "not an array"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := testOptions.Parse([]byte(provider(`credentials = `+tt.creds)), "c.toml")
			var de *DecodeError
			if !errors.As(err, &de) {
				t.Fatalf("error = %v (%T), want *DecodeError", err, err)
			}
			if de.Line != 7 || de.Key != "providers.credentials" || !strings.Contains(de.Message, tt.msg) {
				t.Errorf("error = %v (line %d, key %q), want line 7, key providers.credentials, message with %q", err, de.Line, de.Key, tt.msg)
			}
		})
	}
	// A secret of the wrong type is not echoed.
	_, err := testOptions.Parse([]byte(provider(`credentials = [{ secret = 1234567890123456 }]`)), "c.toml")
	if err == nil || strings.Contains(err.Error(), "1234567890123456") {
		t.Errorf("error = %v", err)
	}
}

// A literal secret given in the table form never shows either, however the
// credential, its provider or the config is printed, logged or encoded, nor in the
// errors about it.
func TestCredentialTableNeverRevealsSecret(t *testing.T) {
	c, err := testOptions.Parse([]byte(provider(`credentials = ["env:A", { secret = "`+secret+`", weight = 3, name = "lit" }]`)), "s.toml")
	if err != nil {
		t.Fatal(err)
	}
	p := &c.Providers[0]
	cr := p.Credentials[1]
	type hidden struct {
		name string
		cred Credential // unexported: fmt cannot call its methods
	}
	h := hidden{"x", cr}

	var outputs []string
	for _, verb := range []string{"%v", "%+v", "%#v", "%s", "%q", "%x", "%X", "%d", "%T %v", "%10s", "%-20v"} {
		for _, v := range []any{cr, &cr, p, *p, c, p.Credentials, h, &h, map[string]Credential{"k": cr}} {
			outputs = append(outputs, verb+": "+fmt.Sprintf(verb, v))
		}
	}
	var b bytes.Buffer
	slog.New(slog.NewJSONHandler(&b, nil)).Info("cred", "credential", cr, "provider", p, slog.Any("list", p.Credentials))
	slog.New(slog.NewTextHandler(&b, nil)).Info("cred", "credential", cr, "hidden", h)
	outputs = append(outputs, b.String())
	js, err := json.Marshal(c)
	if err != nil {
		t.Fatal(err)
	}
	outputs = append(outputs, string(js))
	text, _ := cr.MarshalText()
	outputs = append(outputs, string(text), cr.GoString(), cr.String())

	for _, out := range outputs {
		if strings.Contains(out, "SUPERSECRET") {
			t.Errorf("secret revealed: %s", out)
		}
	}
	if got := cr.String(); got != "literal:****9876" {
		t.Errorf("String() = %q", got)
	}
	if !strings.Contains(string(js), `"literal:****9876"`) {
		t.Errorf("JSON = %s, want the masked credential", js)
	}

	// Errors about a table-form literal mask it too.
	for _, creds := range []string{
		`["` + secret + `", { secret = "` + secret + `", weight = 0 }]`,
		`[{ secret = "` + secret + ` " }]`,
		`[{ secret = "` + secret + `", sekret = "` + secret + `" }]`,
	} {
		_, err := testOptions.Parse([]byte(provider(`credentials = `+creds)), "s.toml")
		if err == nil || strings.Contains(err.Error(), "SUPERSECRET") {
			t.Errorf("error = %v", err)
		}
	}
}
