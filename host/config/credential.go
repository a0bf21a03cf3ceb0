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

// Credential is one upstream secret as written in the config: either "env:NAME",
// naming an environment variable read when the credential is resolved, or a literal
// secret. A Credential never prints a literal secret: String, GoString, Format,
// MarshalText and LogValue all show "env:NAME" or a masked "literal:****abcd" (the
// last four characters only for secrets of at least 12 characters, none otherwise).
// Call [Credential.Resolve] to get the secret itself.
//
// The zero Credential is empty and fails validation.
type Credential struct {
	// raw is behind a pointer so that reflection-based printing of a value that holds a
	// Credential in an unexported field shows an address rather than the secret.
	raw *string
}

// NewCredential returns a Credential for s, which is "env:NAME" or a literal secret.
func NewCredential(s string) Credential { return Credential{raw: &s} }

func (c Credential) rawString() string {
	if c.raw == nil {
		return ""
	}
	return *c.raw
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

// UnmarshalText implements [encoding.TextUnmarshaler]; it keeps the text as is.
func (c *Credential) UnmarshalText(b []byte) error {
	*c = NewCredential(string(b))
	return nil
}

// UnmarshalTOML implements [toml.Unmarshaler]: a credential in TOML must be a string.
func (c *Credential) UnmarshalTOML(v any) error {
	s, ok := v.(string)
	if !ok {
		return fmt.Errorf("a credential must be a string (\"env:NAME\" or a literal), not %T", v)
	}
	*c = NewCredential(s)
	return nil
}

// LogValue implements [slog.LogValuer] with the masked form.
func (c Credential) LogValue() slog.Value { return slog.StringValue(c.masked()) }

// validate reports what is wrong with c, or "" when it is well formed.
func (c Credential) validate() string {
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
