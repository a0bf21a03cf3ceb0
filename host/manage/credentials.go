package manage

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"regexp"
	"strconv"
	"strings"
	"time"
	"unicode"

	"github.com/aignehub/hub/host/secrets"
	"github.com/aignehub/hub/store"
)

// Credential weights.
const (
	MinWeight = 1
	MaxWeight = 1000
)

// maxSecretLen bounds a literal secret.
const maxSecretLen = 8 << 10

// envPrefix marks a secret given as a reference to an environment
// variable of the hub's process.
const envPrefix = "env:"

// envNameRE is what an environment variable name may look like.
var envNameRE = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)

// A CredentialSpec describes a credential to add, or the fields of one to
// change; in an update, nil fields are left alone.
//
// Its Secret is write-only: no view, error, audit entry or log ever shows
// it, and a CredentialSpec prints (fmt, slog) with the secret masked.
type CredentialSpec struct {
	// Name identifies the credential within its provider and matches
	// ^[a-z0-9][a-z0-9_-]*$. To add, empty means "<provider>-<n>" with the
	// next free n. A credential is never renamed (its encrypted secret is
	// bound to its name): in an update it may be empty or the
	// credential's own name.
	Name string `json:"name"`

	// Secret is "env:NAME", stored as a reference to the environment
	// variable NAME of the hub's process, or a literal secret, stored
	// encrypted under the master key, with only a masked hint in clear.
	// "" (or, to add, nil) means no secret, for upstreams that need none.
	Secret *string `json:"secret,omitempty"`

	// Weight is the credential's share of calls, MinWeight..MaxWeight.
	// Default 1.
	Weight *int `json:"weight,omitempty"`

	// Enabled takes the credential out of rotation when false. Default
	// true.
	Enabled *bool `json:"enabled,omitempty"`
}

// String shows the spec with its secret masked.
func (c CredentialSpec) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "{name:%q", c.Name)
	if c.Secret != nil {
		fmt.Fprintf(&b, " secret:%q", maskSpecSecret(*c.Secret))
	}
	if c.Weight != nil {
		fmt.Fprintf(&b, " weight:%d", *c.Weight)
	}
	if c.Enabled != nil {
		fmt.Fprintf(&b, " enabled:%t", *c.Enabled)
	}
	b.WriteString("}")
	return b.String()
}

// GoString is String, so that %#v does not show the secret either.
func (c CredentialSpec) GoString() string { return "manage.CredentialSpec" + c.String() }

// LogValue is String, for log/slog.
func (c CredentialSpec) LogValue() slog.Value { return slog.StringValue(c.String()) }

// maskSpecSecret shows an "env:NAME" reference as itself and a literal
// secret masked.
func maskSpecSecret(s string) string {
	if name, ok := strings.CutPrefix(s, envPrefix); ok && envNameRE.MatchString(name) {
		return s
	}
	if s == "" {
		return ""
	}
	return secrets.Mask(s)
}

// A CredentialView is a credential as the admin API and the CLI show it:
// never its secret, only a masked hint.
type CredentialView struct {
	ID       int64  `json:"id"`
	Provider string `json:"provider"`
	Name     string `json:"name"`
	// Source says where the secret is: "env:NAME" (an environment
	// variable of the hub's process), "encrypted" (in the database, under
	// the master key), "none" (no secret), or "other" for a stored
	// reference of a kind this version does not know.
	Source string `json:"source"`
	// Hint is the masked secret ("****abcd"), for encrypted secrets.
	Hint    string `json:"hint"`
	Weight  int    `json:"weight"`
	Enabled bool   `json:"enabled"`
	// ManagedBy is "config" (re-applied from hub.toml at every start) or
	// "api".
	ManagedBy string    `json:"managed_by"`
	CreatedAt time.Time `json:"created_at"`
	// UpdatedAt is when the secret, weight or enabled state last changed
	// (CreatedAt if never).
	UpdatedAt time.Time `json:"updated_at"`
}

func credentialView(provider string, c store.Credential) CredentialView {
	v := CredentialView{
		ID:        c.ID,
		Provider:  provider,
		Name:      c.Name,
		Hint:      c.Hint,
		Weight:    c.Weight,
		Enabled:   c.Enabled,
		ManagedBy: c.ManagedBy,
		CreatedAt: c.CreatedAt,
		UpdatedAt: c.UpdatedAt,
	}
	switch name, env := strings.CutPrefix(c.SecretRef, envPrefix); {
	case len(c.Ciphertext) > 0:
		v.Source = "encrypted"
	case c.SecretRef == "":
		v.Source = "none"
	case env && envNameRE.MatchString(name):
		v.Source = c.SecretRef
	default:
		v.Source = "other"
	}
	if v.UpdatedAt.IsZero() {
		v.UpdatedAt = v.CreatedAt
	}
	return v
}

// secretPatch is a validated secret, as the store keeps it.
type secretPatch struct {
	ref        string
	ciphertext []byte
	hint       string
}

// sealSecret turns a spec's secret into what the store keeps: a
// reference, or a ciphertext sealed under AAD(provider, credential) and
// its hint. Its errors never contain the secret.
func (s *Service) sealSecret(provider, credential, secret string) (secretPatch, error) {
	const field = "secret"
	if secret == "" {
		return secretPatch{}, nil
	}
	if name, ok := strings.CutPrefix(secret, envPrefix); ok {
		if !envNameRE.MatchString(name) {
			return secretPatch{}, invalid(field, "an env: reference must name an environment variable (%s)", envNameRE)
		}
		return secretPatch{ref: secret}, nil
	}
	switch {
	case len(secret) > maxSecretLen:
		return secretPatch{}, invalid(field, "is longer than %d bytes", maxSecretLen)
	case strings.ContainsFunc(secret, unicode.IsControl):
		return secretPatch{}, invalid(field, "must not contain control characters (such as a line break)")
	case strings.TrimSpace(secret) != secret:
		return secretPatch{}, invalid(field, "must not start or end with white space")
	case s.kr == nil:
		return secretPatch{}, invalid(field, "a literal secret needs the master key, which this command has not loaded; give env:NAME instead")
	}
	ct, err := s.kr.Seal([]byte(secret), secrets.AAD(provider, credential))
	if err != nil {
		return secretPatch{}, fmt.Errorf("seal the secret of %s/%s: %w", provider, credential, err)
	}
	return secretPatch{ciphertext: ct, hint: secrets.Mask(secret)}, nil
}

func checkWeight(w int) error {
	if w < MinWeight || w > MaxWeight {
		return invalid("weight", "must be %d..%d; got %d", MinWeight, MaxWeight, w)
	}
	return nil
}

// Credentials returns the credentials of the provider called name, oldest
// first, or an error wrapping [store.ErrNotFound].
func (s *Service) Credentials(ctx context.Context, provider string) ([]CredentialView, error) {
	p, err := s.st.ProviderByName(ctx, provider)
	if err != nil {
		return nil, err
	}
	creds, err := s.st.ListCredentials(ctx, p.ID)
	if err != nil {
		return nil, err
	}
	out := make([]CredentialView, 0, len(creds))
	for _, c := range creds {
		out = append(out, credentialView(p.Name, c))
	}
	return out, nil
}

// Credential returns the credential with the given id of the provider
// called provider, or an error wrapping [store.ErrNotFound] if there is no
// such credential or it belongs to another provider.
func (s *Service) Credential(ctx context.Context, provider string, id int64) (CredentialView, error) {
	_, c, err := s.credentialOf(ctx, provider, id)
	if err != nil {
		return CredentialView{}, err
	}
	return credentialView(provider, c), nil
}

// credentialOf returns the provider called provider and its credential id.
func (s *Service) credentialOf(ctx context.Context, provider string, id int64) (store.Provider, store.Credential, error) {
	p, err := s.st.ProviderByName(ctx, provider)
	if err != nil {
		return store.Provider{}, store.Credential{}, err
	}
	c, err := s.st.CredentialByID(ctx, id)
	if err != nil {
		return store.Provider{}, store.Credential{}, err
	}
	if c.ProviderID != p.ID {
		return store.Provider{}, store.Credential{}, fmt.Errorf("credential %d of provider %q: %w", id, provider, store.ErrNotFound)
	}
	return p, c, nil
}

// defaultNameTries bounds the retries of AddCredential when another
// process takes the default name it chose.
const defaultNameTries = 16

// AddCredential adds a credential to the provider called provider and
// returns it. It returns a *ValidationError for bad input, an error
// wrapping [store.ErrNotFound] if there is no such provider, and one
// wrapping [store.ErrExists] if the name is taken.
func (s *Service) AddCredential(ctx context.Context, provider string, spec CredentialSpec) (CredentialView, error) {
	if spec.Name != "" {
		if err := checkName("name", "credential", spec.Name); err != nil {
			return CredentialView{}, err
		}
	}
	c := store.Credential{Weight: 1, Enabled: true, ManagedBy: store.ManagedByAPI}
	if spec.Weight != nil {
		if err := checkWeight(*spec.Weight); err != nil {
			return CredentialView{}, err
		}
		c.Weight = *spec.Weight
	}
	if spec.Enabled != nil {
		c.Enabled = *spec.Enabled
	}
	p, err := s.st.ProviderByName(ctx, provider)
	if err != nil {
		return CredentialView{}, err
	}
	if spec.Name == "" {
		s.naming.Lock()
		defer s.naming.Unlock()
	}
	for try := 1; ; try++ {
		c.Name = spec.Name
		if c.Name == "" {
			if c.Name, err = s.nextCredentialName(ctx, p); err != nil {
				return CredentialView{}, err
			}
		}
		// The secret is sealed under the name, so it is sealed anew if
		// the name changes.
		if spec.Secret != nil {
			sp, err := s.sealSecret(p.Name, c.Name, *spec.Secret)
			if err != nil {
				return CredentialView{}, err
			}
			c.SecretRef, c.Ciphertext, c.Hint = sp.ref, sp.ciphertext, sp.hint
		}
		stored, err := s.st.AddCredential(ctx, p.ID, c)
		if errors.Is(err, store.ErrExists) && spec.Name == "" && try < defaultNameTries {
			continue // another process took the name first
		}
		if err != nil {
			return CredentialView{}, err
		}
		s.changed()
		return credentialView(p.Name, stored), nil
	}
}

// nextCredentialName returns "<provider>-<n>" for the n after the largest
// one in use (and after the number of credentials), so that a deleted
// credential's name is not given to a new one while others follow it.
func (s *Service) nextCredentialName(ctx context.Context, p store.Provider) (string, error) {
	creds, err := s.st.ListCredentials(ctx, p.ID)
	if err != nil {
		return "", err
	}
	taken := make(map[string]bool, len(creds))
	n := len(creds)
	for _, c := range creds {
		taken[c.Name] = true
		if rest, ok := strings.CutPrefix(c.Name, p.Name+"-"); ok {
			if i, err := strconv.Atoi(rest); err == nil && i > n && i < 1<<30 {
				n = i
			}
		}
	}
	for {
		n++
		name := fmt.Sprintf("%s-%d", p.Name, n)
		if !taken[name] {
			return name, nil
		}
	}
}

// UpdateCredential changes the fields spec sets of the credential with
// the given id, which must belong to the provider called provider, and
// returns it. It returns a *ValidationError for bad input (a different
// Name included) and an error wrapping [store.ErrNotFound] if there is no
// such credential of that provider.
func (s *Service) UpdateCredential(ctx context.Context, provider string, id int64, spec CredentialSpec) (CredentialView, error) {
	p, c, err := s.credentialOf(ctx, provider, id)
	if err != nil {
		return CredentialView{}, err
	}
	if spec.Name != "" && spec.Name != c.Name {
		return CredentialView{}, invalid("name", "a credential cannot be renamed (its encrypted secret is bound to its name): add a new one and delete this one")
	}
	var patch store.CredentialPatch
	if spec.Weight != nil {
		if err := checkWeight(*spec.Weight); err != nil {
			return CredentialView{}, err
		}
		patch.Weight = spec.Weight
	}
	patch.Enabled = spec.Enabled
	if spec.Secret != nil {
		sp, err := s.sealSecret(p.Name, c.Name, *spec.Secret)
		if err != nil {
			return CredentialView{}, err
		}
		if len(sp.ciphertext) > 0 {
			patch.Ciphertext = sp.ciphertext
		} else {
			patch.SecretRef = &sp.ref
		}
		patch.Hint = &sp.hint
	}
	stored, err := s.st.UpdateCredential(ctx, id, patch)
	if err != nil {
		return CredentialView{}, err
	}
	s.changed()
	return credentialView(p.Name, stored), nil
}

// DeleteCredential deletes the credential with the given id, which must
// belong to the provider called provider, or returns an error wrapping
// [store.ErrNotFound].
func (s *Service) DeleteCredential(ctx context.Context, provider string, id int64) error {
	if _, _, err := s.credentialOf(ctx, provider, id); err != nil {
		return err
	}
	if err := s.st.DeleteCredential(ctx, id); err != nil {
		return err
	}
	s.changed()
	return nil
}
