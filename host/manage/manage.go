package manage

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"strings"
	"sync"
	"time"
	"unicode"

	"github.com/aignehub/hub/host/config"
	"github.com/aignehub/hub/host/secrets"
	"github.com/aignehub/hub/store"
)

// Options configure a [Service].
type Options struct {
	// Store is the database every operation reads and writes. Required.
	Store *store.Store

	// Keyring seals literal credential secrets. Nil means literal secrets
	// are refused (a *ValidationError on "secret"); "env:NAME" references
	// still work.
	Keyring *secrets.Keyring

	// Config supplies the plugin entries ([config.Config].Plugins) that a
	// provider may name besides the builtin plugins and the presets. Nil
	// means only builtin plugins ([config.BuiltinPlugins]) and presets
	// ([config.Presets]) are known.
	Config *config.Config

	// Changed is called after every successful change to providers or
	// credentials (the master key rotation included), so that a running
	// hub rebuilds its routing at once. Nil means no call.
	Changed func()

	// KeysChanged is called after every successful change to API keys,
	// so that a running hub drops its cached keys at once. Nil means no
	// call.
	KeysChanged func()

	// Now is the clock, for key expiry and status. Nil means time.Now.
	Now func() time.Time

	// Granter writes credit grants. The running hub passes its
	// billing.Biller when billing is on, so that its in-memory view of
	// the balances stays exact. Nil means grants go to the store directly
	// ([store.Store.Grant]), which a running hub notices within a second.
	// Either way the grant is audited with ctx's actor.
	Granter Granter

	// NewAccountGrant is the amount, in micro-credits, granted to every
	// account created through [Service.CreateAccount] or created for a
	// key by [Service.CreateKey], with the memo "new account grant".
	// Zero (or negative) means no grant.
	NewAccountGrant int64
}

// A Granter credits an account, auditing the grant with ctx's actor
// (store.WithActor) as "credits.grant". billing.Biller implements it.
type Granter interface {
	Grant(ctx context.Context, accountID, amount int64, memo string, expires time.Time) error
}

// Service is the set of administrative operations on providers,
// credentials, API keys, accounts and their credits, model rates, usage
// statistics, the call log and the audit log. Every
// change is audited by the store when ctx carries a [store.Actor]. It is
// safe for concurrent use.
type Service struct {
	st   *store.Store
	kr   *secrets.Keyring
	cfg  *config.Config
	opts Options

	// naming serializes this process's credential adds that choose a
	// default name, so that they never race each other for one; another
	// process's are caught by AddCredential's retries.
	naming sync.Mutex
}

// New returns a Service. It panics if opts.Store is nil.
func New(opts Options) *Service {
	if opts.Store == nil {
		panic("manage: Options.Store is nil")
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	return &Service{st: opts.Store, kr: opts.Keyring, cfg: opts.Config, opts: opts}
}

func (s *Service) changed() {
	if s.opts.Changed != nil {
		s.opts.Changed()
	}
}

func (s *Service) keysChanged() {
	if s.opts.KeysChanged != nil {
		s.opts.KeysChanged()
	}
}

// A ValidationError reports bad input: which field (a JSON path such as
// "base_url" or "models[2]") and what is wrong with it. Its message never
// contains a secret.
type ValidationError struct {
	Field   string
	Message string
}

func (e *ValidationError) Error() string {
	if e.Field == "" {
		return e.Message
	}
	return e.Field + ": " + e.Message
}

func invalid(field, format string, args ...any) *ValidationError {
	return &ValidationError{Field: field, Message: fmt.Sprintf(format, args...)}
}

// IsValidation reports whether err is or wraps a *ValidationError.
func IsValidation(err error) bool {
	var v *ValidationError
	return errors.As(err, &v)
}

// nameRE is what provider and credential names look like (the rule of
// host/config and the store).
var nameRE = regexp.MustCompile(`^[a-z0-9][a-z0-9_-]*$`)

// maxNameLen bounds names and labels.
const maxNameLen = 128

func checkName(field, kind, name string) error {
	switch {
	case name == "":
		return invalid(field, "must not be empty")
	case len(name) > maxNameLen:
		return invalid(field, "is longer than %d bytes", maxNameLen)
	case !nameRE.MatchString(name):
		return invalid(field, "invalid %s name %q: must match %s", kind, name, nameRE)
	}
	return nil
}

// checkLabel validates a free-form label (a key's or an account's name):
// no control characters, no white space at either end, at most maxNameLen
// bytes. empty says whether "" is allowed.
func checkLabel(field, s string, empty bool) error {
	switch {
	case s == "" && !empty:
		return invalid(field, "must not be empty")
	case len(s) > maxNameLen:
		return invalid(field, "is longer than %d bytes", maxNameLen)
	case strings.ContainsFunc(s, unicode.IsControl):
		return invalid(field, "must not contain control characters")
	case strings.TrimSpace(s) != s:
		return invalid(field, "must not start or end with white space")
	}
	return nil
}

// checkModels validates a list of model names or patterns: each non-empty,
// without white space or control characters, and unique.
func checkModels(field string, models []string) error {
	seen := make(map[string]int, len(models))
	for i, m := range models {
		f := fmt.Sprintf("%s[%d]", field, i)
		switch j, dup := seen[m]; {
		case m == "":
			return invalid(f, "must not be empty")
		case strings.ContainsFunc(m, func(r rune) bool { return unicode.IsSpace(r) || unicode.IsControl(r) }):
			return invalid(f, "model %q must not contain white space or control characters", m)
		case dup:
			return invalid(f, "duplicate model %q (also %s[%d])", m, field, j)
		}
		seen[m] = i
	}
	return nil
}

// nonNil returns ms, or an empty slice for nil, so that JSON shows [].
func nonNil[T any](ms []T) []T {
	if ms == nil {
		return []T{}
	}
	return ms
}

// AppendAudit appends an audit entry for an event that changes nothing in
// the store (such as a credential test), with ctx's actor. detail, if not
// nil, must marshal to a JSON object and must not hold a secret.
func (s *Service) AppendAudit(ctx context.Context, action, target string, detail any) error {
	var raw json.RawMessage
	if detail != nil {
		b, err := json.Marshal(detail)
		if err != nil {
			return fmt.Errorf("append audit %q: %w", action, err)
		}
		raw = b
	}
	return s.st.AppendAudit(ctx, store.AuditEntry{Action: action, Target: target, Detail: raw})
}
