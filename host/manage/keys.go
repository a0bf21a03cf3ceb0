package manage

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/aignehub/hub/host/auth"
	"github.com/aignehub/hub/store"
)

// DefaultAccount is the account a key is created in when its spec names
// none.
const DefaultAccount = "default"

// Key statuses, as [KeyView].Status shows them.
const (
	KeyActive  = "active"
	KeyRevoked = "revoked"
	KeyExpired = "expired"
)

// A KeySpec describes an API key to create, or the fields of one to
// change; in an update, nil and empty fields are left alone.
type KeySpec struct {
	// Name is the operator's label for the key; need not be unique.
	Name string `json:"name,omitempty"`
	// Role is "user" (call models; the default) or "admin" (use the
	// admin API too).
	Role string `json:"role,omitempty"`
	// Account names the account that owns the key, created if missing.
	// Default "default". In an update it may only name the key's own
	// account: keys do not move between accounts.
	Account string `json:"account,omitempty"`
	// AccountID is an alternative to Account: an existing account's ID.
	AccountID int64 `json:"account_id,omitempty"`
	// AllowedModels are the model patterns the key may call
	// ("openai/gpt-4o", "gpt-4o-mini", "anthropic/*", an alias). Empty
	// means every model.
	AllowedModels *[]string `json:"allowed_models,omitempty"`
	// RPM, TPM and MaxConcurrency limit the key's requests per minute,
	// tokens per minute and calls in flight; not negative, zero means
	// unlimited. Default unlimited.
	RPM            *int `json:"rpm,omitempty"`
	TPM            *int `json:"tpm,omitempty"`
	MaxConcurrency *int `json:"max_concurrency,omitempty"`
	// ExpiresAt is when the key stops working; it must be in the future.
	// Default never.
	ExpiresAt *time.Time `json:"expires_at,omitempty"`
	// ExpiresIn is an alternative to ExpiresAt: a positive Go duration
	// from now, like "720h". "never" (or "0") means the key does not
	// expire, which in an update clears its expiry.
	ExpiresIn string `json:"expires_in,omitempty"`
}

// A KeyView is an API key as the admin API and the CLI show it: never the
// key nor its hash, only its display prefix.
type KeyView struct {
	ID             int64      `json:"id"`
	AccountID      int64      `json:"account_id"`
	Account        string     `json:"account"`
	Prefix         string     `json:"prefix"`
	Name           string     `json:"name"`
	Role           string     `json:"role"`
	AllowedModels  []string   `json:"allowed_models"` // empty: every model
	RPM            int        `json:"rpm"`            // 0: unlimited
	TPM            int        `json:"tpm"`            // 0: unlimited
	MaxConcurrency int        `json:"max_concurrency"`
	CreatedAt      time.Time  `json:"created_at"`
	ExpiresAt      *time.Time `json:"expires_at"` // null: never
	RevokedAt      *time.Time `json:"revoked_at"`
	LastUsedAt     *time.Time `json:"last_used_at"`
	// Status is KeyActive, KeyRevoked or KeyExpired.
	Status string `json:"status"`
}

func timePtr(t time.Time) *time.Time {
	if t.IsZero() {
		return nil
	}
	return &t
}

func (s *Service) keyView(k store.APIKey, account string) KeyView {
	v := KeyView{
		ID:             k.ID,
		AccountID:      k.AccountID,
		Account:        account,
		Prefix:         k.Prefix,
		Name:           k.Name,
		Role:           k.Role,
		AllowedModels:  nonNil(k.AllowedModels),
		RPM:            k.RPM,
		TPM:            k.TPM,
		MaxConcurrency: k.MaxConcurrency,
		CreatedAt:      k.CreatedAt,
		ExpiresAt:      timePtr(k.ExpiresAt),
		RevokedAt:      timePtr(k.RevokedAt),
		LastUsedAt:     timePtr(k.LastUsedAt),
		Status:         KeyActive,
	}
	switch {
	case !k.RevokedAt.IsZero():
		v.Status = KeyRevoked
	case !k.ExpiresAt.IsZero() && !s.opts.Now().Before(k.ExpiresAt):
		v.Status = KeyExpired
	}
	return v
}

// checkLimits validates the role, models, limits and expiry of spec and
// returns the expiry it sets: (nil, nil) when it sets none, a pointer to
// the zero time for "never".
func (s *Service) checkLimits(spec KeySpec) (*time.Time, error) {
	switch spec.Role {
	case "", store.RoleUser, store.RoleAdmin:
	default:
		return nil, invalid("role", "must be %q or %q; got %q", store.RoleUser, store.RoleAdmin, spec.Role)
	}
	if err := checkLabel("name", spec.Name, true); err != nil {
		return nil, err
	}
	if spec.AllowedModels != nil {
		if err := checkModels("allowed_models", *spec.AllowedModels); err != nil {
			return nil, err
		}
	}
	for _, l := range []struct {
		field string
		v     *int
	}{{"rpm", spec.RPM}, {"tpm", spec.TPM}, {"max_concurrency", spec.MaxConcurrency}} {
		if l.v != nil && *l.v < 0 {
			return nil, invalid(l.field, "must not be negative (0 means unlimited)")
		}
	}
	now := s.opts.Now()
	switch {
	case spec.ExpiresAt != nil && spec.ExpiresIn != "":
		return nil, invalid("expires_in", "give expires_at or expires_in, not both")
	case spec.ExpiresIn == "never" || spec.ExpiresIn == "0":
		return &time.Time{}, nil
	case spec.ExpiresIn != "":
		d, err := time.ParseDuration(spec.ExpiresIn)
		if err != nil || d <= 0 {
			return nil, invalid("expires_in", "must be a positive duration like \"720h\", or \"never\"; got %q", spec.ExpiresIn)
		}
		at := now.Add(d)
		return &at, nil
	case spec.ExpiresAt != nil && !spec.ExpiresAt.IsZero() && !spec.ExpiresAt.After(now):
		return nil, invalid("expires_at", "must be in the future (revoke a key to end it now)")
	case spec.ExpiresAt != nil:
		at := *spec.ExpiresAt
		return &at, nil
	}
	return nil, nil
}

// account returns the account spec names, creating one named by name
// (create set) if needed, or the default account when spec names none.
func (s *Service) account(ctx context.Context, spec KeySpec, create bool) (store.Account, error) {
	if spec.Account != "" {
		if err := checkAccountName("account", spec.Account); err != nil {
			return store.Account{}, err
		}
	}
	var a store.Account
	var err error
	switch {
	case spec.AccountID < 0:
		return store.Account{}, invalid("account_id", "must be positive")
	case spec.AccountID > 0:
		a, err = s.st.AccountByID(ctx, spec.AccountID)
		if errors.Is(err, store.ErrNotFound) {
			return store.Account{}, invalid("account_id", "no account %d", spec.AccountID)
		}
		if err == nil && spec.Account != "" && spec.Account != a.Name {
			return store.Account{}, invalid("account", "account %d is called %q, not %q", a.ID, a.Name, spec.Account)
		}
	case create:
		a, err = s.ensureAccount(ctx, cmp.Or(spec.Account, DefaultAccount))
	default:
		a, err = s.st.AccountByName(ctx, spec.Account)
		if errors.Is(err, store.ErrNotFound) {
			return store.Account{}, invalid("account", "no account %q", spec.Account)
		}
	}
	return a, err
}

// ensureAccount returns the account called name, creating it (with its
// new account grant) if there is none.
func (s *Service) ensureAccount(ctx context.Context, name string) (store.Account, error) {
	for {
		a, err := s.st.AccountByName(ctx, name)
		if !errors.Is(err, store.ErrNotFound) {
			return a, err
		}
		a, err = s.st.CreateAccount(ctx, name)
		if errors.Is(err, store.ErrExists) {
			continue // another call created it meanwhile: use that one
		}
		if err != nil {
			return store.Account{}, err
		}
		return a, s.newAccountGrant(ctx, a)
	}
}

// CreateKey creates an API key and returns it with its view. The key
// itself is returned only here, once: the store keeps its hash. It
// returns a *ValidationError for bad input. An account the spec names
// that does not exist is created, with its new account grant
// ([Options].NewAccountGrant).
func (s *Service) CreateKey(ctx context.Context, spec KeySpec) (key string, v KeyView, err error) {
	expires, err := s.checkLimits(spec)
	if err != nil {
		return "", KeyView{}, err
	}
	a, err := s.account(ctx, spec, true)
	if err != nil {
		return "", KeyView{}, err
	}
	key, hash, prefix := auth.Generate()
	k := store.APIKey{
		AccountID: a.ID,
		Hash:      hash,
		Prefix:    prefix,
		Name:      spec.Name,
		Role:      cmp.Or(spec.Role, store.RoleUser),
	}
	if expires != nil {
		k.ExpiresAt = *expires
	}
	if spec.AllowedModels != nil {
		k.AllowedModels = slices.Clone(*spec.AllowedModels)
	}
	if spec.RPM != nil {
		k.RPM = *spec.RPM
	}
	if spec.TPM != nil {
		k.TPM = *spec.TPM
	}
	if spec.MaxConcurrency != nil {
		k.MaxConcurrency = *spec.MaxConcurrency
	}
	stored, err := s.st.CreateAPIKey(ctx, k)
	if err != nil {
		return "", KeyView{}, err
	}
	s.keysChanged()
	return key, s.keyView(stored, a.Name), nil
}

// accountNames maps account IDs to names.
func (s *Service) accountNames(ctx context.Context) (map[int64]string, error) {
	as, err := s.st.ListAccounts(ctx)
	if err != nil {
		return nil, err
	}
	names := make(map[int64]string, len(as))
	for _, a := range as {
		names[a.ID] = a.Name
	}
	return names, nil
}

// ListKeys returns the keys of the account with the given id (every key
// for 0), revoked and expired ones included, oldest first.
func (s *Service) ListKeys(ctx context.Context, accountID int64) ([]KeyView, error) {
	var keys []store.APIKey
	var err error
	if accountID == 0 {
		keys, err = s.st.ListAPIKeys(ctx)
	} else {
		keys, err = s.st.ListAPIKeysByAccount(ctx, accountID)
	}
	if err != nil {
		return nil, err
	}
	names, err := s.accountNames(ctx)
	if err != nil {
		return nil, err
	}
	out := make([]KeyView, 0, len(keys))
	for _, k := range keys {
		out = append(out, s.keyView(k, names[k.AccountID]))
	}
	return out, nil
}

// Key returns the key with the given id, or an error wrapping
// [store.ErrNotFound].
func (s *Service) Key(ctx context.Context, id int64) (KeyView, error) {
	k, err := s.st.APIKeyByID(ctx, id)
	if err != nil {
		return KeyView{}, err
	}
	return s.viewWithAccount(ctx, k)
}

func (s *Service) viewWithAccount(ctx context.Context, k store.APIKey) (KeyView, error) {
	a, err := s.st.AccountByID(ctx, k.AccountID)
	if err != nil {
		return KeyView{}, fmt.Errorf("account of api key %d: %w", k.ID, err)
	}
	return s.keyView(k, a.Name), nil
}

// UpdateKey changes the fields spec sets of the key with the given id and
// returns it: a non-empty Name or Role, a non-nil AllowedModels, limit or
// expiry. It returns a *ValidationError for bad input (another account
// included) and an error wrapping [store.ErrNotFound] if there is no such
// key. A revoked key can be changed but stays revoked.
func (s *Service) UpdateKey(ctx context.Context, id int64, spec KeySpec) (KeyView, error) {
	expires, err := s.checkLimits(spec)
	if err != nil {
		return KeyView{}, err
	}
	k, err := s.st.APIKeyByID(ctx, id)
	if err != nil {
		return KeyView{}, err
	}
	if spec.Account != "" || spec.AccountID != 0 {
		a, err := s.account(ctx, spec, false)
		var ve *ValidationError
		switch {
		case errors.As(err, &ve):
			return KeyView{}, invalid(ve.Field, "keys do not move between accounts: %s", ve.Message)
		case err != nil:
			return KeyView{}, err
		case a.ID != k.AccountID:
			field := "account"
			if spec.AccountID != 0 {
				field = "account_id"
			}
			return KeyView{}, invalid(field, "keys do not move between accounts: key %d belongs to account %d", id, k.AccountID)
		}
	}
	patch := store.APIKeyPatch{
		AllowedModels:  spec.AllowedModels,
		RPM:            spec.RPM,
		TPM:            spec.TPM,
		MaxConcurrency: spec.MaxConcurrency,
		ExpiresAt:      expires,
	}
	if spec.Name != "" {
		patch.Name = &spec.Name
	}
	if spec.Role != "" {
		patch.Role = &spec.Role
	}
	stored, err := s.st.UpdateAPIKey(ctx, id, patch)
	if err != nil {
		return KeyView{}, err
	}
	s.keysChanged()
	return s.viewWithAccount(ctx, stored)
}

// RevokeKey revokes the key with the given id, or returns an error
// wrapping [store.ErrNotFound]. Revoking a revoked key succeeds and
// changes nothing.
func (s *Service) RevokeKey(ctx context.Context, id int64) error {
	if err := s.st.RevokeAPIKey(ctx, id); err != nil {
		return err
	}
	s.keysChanged()
	return nil
}
