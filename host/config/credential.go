package config

import (
	"fmt"
	"log/slog"
	"os"
	"regexp"
	"strings"
)

// envPrefix marks a credential that names an environment variable.
const envPrefix = "env:"

// envNameRE is what an environment variable name may look like, both in
// "env:NAME" credentials and in ${NAME} expansions.
var envNameRE = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)

// Bounds of a credential's weight.
const (
	// MinCredentialWeight is the smallest weight a credential may have: a
	// credential that should take no calls is removed, not weighted 0.
	MinCredentialWeight = 1
	// MaxCredentialWeight is the largest weight a credential may have.
	MaxCredentialWeight = 1000
)

// Credential is one upstream secret as written in the config: either "env:NAME",
// naming an environment variable read when the credential is resolved, or a literal
// secret. A Credential never prints a literal secret: String, GoString, Format,
// MarshalText and LogValue all show "env:NAME" or a masked "literal:****abcd" (the
// last four characters only for secrets of at least 12 characters, none otherwise).
// Call [Credential.Resolve] to get the secret itself.
//
// In TOML a credential is a string, the secret, or a table that also gives it a
// weight and a name; the two forms mix in one list:
//
//	credentials = ["env:KEY_A", { secret = "env:KEY_B", weight = 3, name = "backup" }]
//
// The zero Credential is empty and fails validation.
type Credential struct {
	// raw, the secret, is behind a pointer to a string so that reflection-based
	// printing of a value that holds a Credential in an unexported field shows an
	// address rather than the secret (fmt prints what a pointer to a struct points
	// to, so the secret must not be in one).
	raw *string
	// form is nil for the string form.
	form *tableForm
}

// tableForm is what a credential's table form gives besides the secret. It holds
// no secret.
type tableForm struct {
	hasSecret bool  // the table has a secret key
	weight    int64 // as written; meaningful when hasWeight
	hasWeight bool
	name      string // as written; meaningful when hasName
	hasName   bool
}

// Keys of a credential's table form.
const (
	credentialSecretKey = "secret"
	credentialWeightKey = "weight"
	credentialNameKey   = "name"
)

// CredentialOptions are the optional parts of a credential built by
// [NewCredentialWith]: what the table form adds to the secret.
type CredentialOptions struct {
	// Weight is the credential's share of its provider's calls,
	// MinCredentialWeight..MaxCredentialWeight. Default (0) 1.
	Weight int
	// Name names the credential in logs, records and the admin API; a set name
	// matches ^[a-z0-9][a-z0-9_-]*$ and is unique within the provider. Default ""
	// ([Provider.CredentialName] gives "<provider>-<position>").
	Name string
}

// NewCredential returns a Credential for s, which is "env:NAME" or a literal secret,
// with the default weight and no name.
func NewCredential(s string) Credential {
	return Credential{raw: &s}
}

// NewCredentialWith returns a Credential for secret ("env:NAME" or a literal) with
// the weight and name of o, as the table form writes them. It does not validate
// them; [Parse] does for a config file.
func NewCredentialWith(secret string, o CredentialOptions) Credential {
	return Credential{raw: &secret, form: &tableForm{
		hasSecret: true,
		weight:    int64(o.Weight),
		hasWeight: o.Weight != 0,
		name:      o.Name,
		hasName:   o.Name != "",
	}}
}

func (c Credential) rawString() string {
	if c.raw == nil {
		return ""
	}
	return *c.raw
}

// Weight returns the credential's share of its provider's calls: the table form's
// weight, or 1 when none is given. In a config from Parse/Load it is
// MinCredentialWeight..MaxCredentialWeight.
func (c Credential) Weight() int {
	if c.form == nil || !c.form.hasWeight {
		return 1
	}
	return int(c.form.weight)
}

// Name returns the name the table form gives the credential, or "" when it gives
// none; [Provider.CredentialName] supplies the default.
func (c Credential) Name() string {
	if c.form == nil {
		return ""
	}
	return c.form.name
}

// IsEnv reports whether c names an environment variable ("env:NAME").
func (c Credential) IsEnv() bool { return strings.HasPrefix(c.rawString(), envPrefix) }

// EnvName returns NAME for an "env:NAME" credential and "" for a literal one.
func (c Credential) EnvName() string {
	if !c.IsEnv() {
		return ""
	}
	return strings.TrimPrefix(c.rawString(), envPrefix)
}

// IsZero reports whether c is empty.
func (c Credential) IsZero() bool { return c.rawString() == "" }

// Resolve returns the secret: the value of the environment variable for "env:NAME"
// (looked up with lookup, or [os.LookupEnv] when lookup is nil), or the literal.
// An unset or empty variable is an error that names the variable; no error ever
// contains a secret.
func (c Credential) Resolve(lookup func(string) (string, bool)) (string, error) {
	raw := c.rawString()
	if raw == "" {
		return "", fmt.Errorf("resolve credential: empty credential")
	}
	if !c.IsEnv() {
		return raw, nil
	}
	name := c.EnvName()
	if !envNameRE.MatchString(name) {
		return "", fmt.Errorf("resolve credential: invalid environment variable name %q", name)
	}
	if lookup == nil {
		lookup = os.LookupEnv
	}
	v, ok := lookup(name)
	if !ok {
		return "", fmt.Errorf("resolve credential %s: environment variable %s is not set", raw, name)
	}
	if v == "" {
		return "", fmt.Errorf("resolve credential %s: environment variable %s is empty", raw, name)
	}
	return v, nil
}

// masked is the printable form of c.
func (c Credential) masked() string {
	raw := c.rawString()
	switch {
	case raw == "":
		return ""
	case c.IsEnv():
		return raw
	case len(raw) >= 12:
		return "literal:****" + raw[len(raw)-4:]
	default:
		return "literal:****"
	}
}

// String returns "env:NAME" or the masked literal; never the secret.
func (c Credential) String() string { return c.masked() }

// GoString implements [fmt.GoStringer] for %#v; never the secret.
func (c Credential) GoString() string { return fmt.Sprintf("config.Credential(%q)", c.masked()) }

// Format implements [fmt.Formatter] so that every verb (%v, %+v, %s, %q, %x, %d, …)
// prints the masked form, and %#v the GoString form.
func (c Credential) Format(f fmt.State, verb rune) {
	switch {
	case verb == 'v' && f.Flag('#'):
		fmt.Fprint(f, c.GoString())
	case verb == 'q':
		fmt.Fprintf(f, "%q", c.masked())
	default:
		fmt.Fprint(f, c.masked())
	}
}

// MarshalText implements [encoding.TextMarshaler] with the masked form, so JSON or
// TOML encodings of a config never carry a literal secret.
func (c Credential) MarshalText() ([]byte, error) { return []byte(c.masked()), nil }

// UnmarshalText implements [encoding.TextUnmarshaler]; it keeps the text as is, as
// the secret of a credential with the default weight and no name.
func (c *Credential) UnmarshalText(b []byte) error {
	*c = NewCredential(string(b))
	return nil
}

// UnmarshalTOML implements [toml.Unmarshaler]: a credential in TOML is a string, the
// secret, or a table { secret = "…", weight = 1, name = "…" }. A value of the wrong
// type is an error; keys the table form does not have are left to strict decoding,
// which reports them with the other unknown keys (see tomlKeys).
func (c *Credential) UnmarshalTOML(v any) error {
	switch v := v.(type) {
	case string:
		*c = NewCredential(v)
		return nil
	case map[string]any:
		var secret string
		form := &tableForm{}
		if s, ok := v[credentialSecretKey]; ok {
			str, ok := s.(string)
			if !ok {
				return fmt.Errorf("a credential's secret must be a string (\"env:NAME\" or a literal), not %s", tomlTypeName(s))
			}
			secret, form.hasSecret = str, true
		}
		if w, ok := v[credentialWeightKey]; ok {
			n, ok := w.(int64)
			if !ok {
				return fmt.Errorf("a credential's weight must be an integer %d..%d, not %s", MinCredentialWeight, MaxCredentialWeight, tomlTypeName(w))
			}
			form.weight, form.hasWeight = n, true
		}
		if n, ok := v[credentialNameKey]; ok {
			str, ok := n.(string)
			if !ok {
				return fmt.Errorf("a credential's name must be a string, not %s", tomlTypeName(n))
			}
			form.name, form.hasName = str, true
		}
		*c = Credential{raw: &secret, form: form}
		return nil
	}
	return fmt.Errorf("a credential must be a string (\"env:NAME\" or a literal) or a table { secret = \"env:NAME\", weight = 1, name = \"…\" }, not %s", tomlTypeName(v))
}

// tomlKeys lists the keys of the table form, for strict decoding (see schemaLookup).
func (Credential) tomlKeys() []string {
	return []string{credentialSecretKey, credentialWeightKey, credentialNameKey}
}

// tomlTypeName names the TOML type of a decoded value, for errors. It never
// includes the value, which may be a secret.
func tomlTypeName(v any) string {
	switch v.(type) {
	case string:
		return "a string"
	case int64:
		return "an integer"
	case float64:
		return "a float"
	case bool:
		return "a boolean"
	case map[string]any:
		return "a table"
	case []any, []map[string]any:
		return "an array"
	case nil:
		return "nothing"
	}
	return "a date or time"
}

// LogValue implements [slog.LogValuer] with the masked form.
func (c Credential) LogValue() slog.Value { return slog.StringValue(c.masked()) }

// secretProblem reports what is wrong with c's secret, or "" when it is well formed.
func (c Credential) secretProblem() string {
	raw := c.rawString()
	switch {
	case raw == "":
		return "must not be empty"
	case c.IsEnv() && !envNameRE.MatchString(c.EnvName()):
		return fmt.Sprintf("invalid environment variable name %q in %q (want env:NAME, NAME matching %s)", c.EnvName(), envPrefix+c.EnvName(), envNameRE)
	case strings.TrimSpace(raw) != raw:
		return "literal secret has leading or trailing whitespace"
	}
	return ""
}
