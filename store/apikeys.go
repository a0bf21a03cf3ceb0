package store

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"zombiezen.com/go/sqlite"
	"zombiezen.com/go/sqlite/sqlitex"
)

// API key roles.
const (
	RoleAdmin = "admin" // may use the admin API
	RoleUser  = "user"  // may call models
)

// An APIKey is the stored record of a hub API key. The key itself is never
// stored: only its SHA-256 hash and a short display prefix.
type APIKey struct {
	ID        int64
	AccountID int64
	Hash      [32]byte // SHA-256 of the full key; unique
	Prefix    string   // clear start of the key for display, like "sk-hub-AbCdEf"
	Name      string   // operator's label; need not be unique
	Role      string   // RoleAdmin or RoleUser
	CreatedAt time.Time
	ExpiresAt time.Time // zero: never expires

	// RevokedAt is when the key was first revoked; zero: not revoked.
	RevokedAt time.Time
	// LastUsedAt is the latest time passed to [Store.TouchAPIKey];
	// zero: never recorded.
	LastUsedAt time.Time

	// AllowedModels are the model patterns the key may call
	// ("openai/gpt-4o", "gpt-4o-mini", "anthropic/*", an alias); each
	// non-empty, without white space, and unique. Empty means every model;
	// read back as nil when empty.
	AllowedModels []string
	// RPM, TPM and MaxConcurrency limit the key's requests per minute,
	// tokens per minute and calls in flight. Zero means unlimited.
	RPM, TPM, MaxConcurrency int
}

// validateLimits checks the limits and models of k and returns its
// allowed models as stored.
func (k *APIKey) validateLimits() (allowedModels string, err error) {
	switch {
	case k.Role != RoleAdmin && k.Role != RoleUser:
		return "", fmt.Errorf("invalid role %q", k.Role)
	case k.RPM < 0:
		return "", errors.New("negative rpm")
	case k.TPM < 0:
		return "", errors.New("negative tpm")
	case k.MaxConcurrency < 0:
		return "", errors.New("negative max_concurrency")
	}
	if len(k.AllowedModels) == 0 {
		k.AllowedModels = nil
	}
	return modelsJSON("allowed model", k.AllowedModels)
}

// keyTarget is a key's audit target.
func keyTarget(id int64) string { return fmt.Sprint("key:", id) }

// CreateAPIKey stores a new key. The caller supplies AccountID, Hash,
// Prefix, Name, Role (empty means RoleUser), ExpiresAt, AllowedModels and
// the limits; the returned copy has ID and CreatedAt set. Other fields of k
// are ignored.
func (s *Store) CreateAPIKey(ctx context.Context, k APIKey) (APIKey, error) {
	if k.Role == "" {
		k.Role = RoleUser
	}
	allowed, err := k.validateLimits()
	switch {
	case err != nil:
		return APIKey{}, fmt.Errorf("create api key: %w", err)
	case k.Hash == [32]byte{}:
		return APIKey{}, errors.New("create api key: zero hash")
	case k.Prefix == "":
		return APIKey{}, errors.New("create api key: empty prefix")
	case k.AccountID <= 0:
		return APIKey{}, errors.New("create api key: no account")
	}
	k.ID = 0
	k.CreatedAt = now()
	k.RevokedAt = time.Time{}
	k.LastUsedAt = time.Time{}
	k.ExpiresAt = truncMillis(k.ExpiresAt)

	err = s.write(ctx, func(conn *sqlite.Conn) error {
		err := sqlitex.ExecuteFS(conn, queries, "api_key_insert.sql", &sqlitex.ExecOptions{
			Named: map[string]any{
				":account_id":      k.AccountID,
				":key_hash":        k.Hash[:],
				":prefix":          k.Prefix,
				":name":            k.Name,
				":role":            k.Role,
				":created_at":      k.CreatedAt.UnixMilli(),
				":expires_at":      millis(k.ExpiresAt),
				":allowed_models":  allowed,
				":rpm":             k.RPM,
				":tpm":             k.TPM,
				":max_concurrency": k.MaxConcurrency,
			},
			ResultFunc: func(stmt *sqlite.Stmt) error {
				k.ID = stmt.GetInt64("id")
				return nil
			},
		})
		if err != nil {
			return err
		}
		return audit(ctx, conn, "key.create", keyTarget(k.ID), keyDetail(nil, k))
	})
	if err != nil {
		return APIKey{}, fmt.Errorf("create api key: %w", err)
	}
	return k, nil
}

// keyDetail is the audit detail of a key change: every field an operator
// sets for a new key (old nil), the changed ones otherwise. Never the hash.
func keyDetail(old *APIKey, k APIKey) map[string]any {
	d := map[string]any{}
	var o APIKey
	if old == nil {
		d["account_id"] = k.AccountID
		d["prefix"] = k.Prefix
	} else {
		o = *old
	}
	set := func(name string, changed bool, v any) {
		if old == nil || changed {
			d[name] = v
		}
	}
	set("name", o.Name != k.Name, k.Name)
	set("role", o.Role != k.Role, k.Role)
	set("expires_at", !o.ExpiresAt.Equal(k.ExpiresAt), auditTime(k.ExpiresAt))
	allowed := k.AllowedModels
	if allowed == nil {
		allowed = []string{}
	}
	set("allowed_models", !slices.Equal(o.AllowedModels, k.AllowedModels), allowed)
	set("rpm", o.RPM != k.RPM, k.RPM)
	set("tpm", o.TPM != k.TPM, k.TPM)
	set("max_concurrency", o.MaxConcurrency != k.MaxConcurrency, k.MaxConcurrency)
	return d
}

// truncMillis returns t at the stored precision; the zero time stays zero.
func truncMillis(t time.Time) time.Time {
	if t.IsZero() {
		return t
	}
	return time.UnixMilli(t.UnixMilli())
}

// An APIKeyPatch lists the fields of a key to change; nil fields are left
// alone.
type APIKeyPatch struct {
	Name          *string
	Role          *string // RoleAdmin or RoleUser
	AllowedModels *[]string
	// RPM, TPM and MaxConcurrency must not be negative; zero means
	// unlimited.
	RPM, TPM, MaxConcurrency *int
	// ExpiresAt sets the expiry time; the zero time means never.
	ExpiresAt *time.Time
}

// UpdateAPIKey applies patch to the key with the given id and returns the
// stored key, or [ErrNotFound]. A patch that changes nothing writes
// nothing; one that does changes [Store.KeysVersion].
func (s *Store) UpdateAPIKey(ctx context.Context, id int64, patch APIKeyPatch) (APIKey, error) {
	var stored APIKey
	err := s.write(ctx, func(conn *sqlite.Conn) error {
		old, err := apiKeyBy(conn, "api_key_by_id.sql", map[string]any{":id": id})
		if err != nil {
			return err
		}
		k := old
		if patch.Name != nil {
			k.Name = *patch.Name
		}
		if patch.Role != nil {
			k.Role = *patch.Role
		}
		if patch.AllowedModels != nil {
			k.AllowedModels = slices.Clone(*patch.AllowedModels)
		}
		if patch.RPM != nil {
			k.RPM = *patch.RPM
		}
		if patch.TPM != nil {
			k.TPM = *patch.TPM
		}
		if patch.MaxConcurrency != nil {
			k.MaxConcurrency = *patch.MaxConcurrency
		}
		if patch.ExpiresAt != nil {
			k.ExpiresAt = truncMillis(*patch.ExpiresAt)
		}
		allowed, err := k.validateLimits()
		if err != nil {
			return err
		}
		if len(keyDetail(&old, k)) == 0 {
			stored = old
			return nil
		}
		err = sqlitex.ExecuteFS(conn, queries, "api_key_update.sql", &sqlitex.ExecOptions{
			Named: map[string]any{
				":id":              id,
				":name":            k.Name,
				":role":            k.Role,
				":expires_at":      millis(k.ExpiresAt),
				":allowed_models":  allowed,
				":rpm":             k.RPM,
				":tpm":             k.TPM,
				":max_concurrency": k.MaxConcurrency,
			},
		})
		if err != nil {
			return err
		}
		stored = k
		return audit(ctx, conn, "key.update", keyTarget(id), keyDetail(&old, k))
	})
	if err != nil {
		return APIKey{}, fmt.Errorf("update api key %d: %w", id, err)
	}
	return stored, nil
}

// APIKeyByID returns the key with the given id, or [ErrNotFound].
func (s *Store) APIKeyByID(ctx context.Context, id int64) (APIKey, error) {
	keys, err := s.apiKeys(ctx, "api_key_by_id.sql", map[string]any{":id": id})
	if err != nil {
		return APIKey{}, fmt.Errorf("api key %d: %w", id, err)
	}
	if len(keys) == 0 {
		return APIKey{}, fmt.Errorf("api key %d: %w", id, ErrNotFound)
	}
	return keys[0], nil
}

// ListAPIKeysByAccount returns the keys of the account with the given id,
// revoked and expired ones included, oldest first.
func (s *Store) ListAPIKeysByAccount(ctx context.Context, accountID int64) ([]APIKey, error) {
	keys, err := s.apiKeys(ctx, "api_keys_by_account.sql", map[string]any{":account_id": accountID})
	if err != nil {
		return nil, fmt.Errorf("list api keys of account %d: %w", accountID, err)
	}
	return keys, nil
}

// APIKeyByHash returns the key whose SHA-256 is hash, or [ErrNotFound].
// Revoked and expired keys are returned too: the caller decides.
func (s *Store) APIKeyByHash(ctx context.Context, hash [32]byte) (APIKey, error) {
	keys, err := s.apiKeys(ctx, "api_key_by_hash.sql", map[string]any{":key_hash": hash[:]})
	if err != nil {
		return APIKey{}, fmt.Errorf("api key by hash: %w", err)
	}
	if len(keys) == 0 {
		return APIKey{}, fmt.Errorf("api key by hash: %w", ErrNotFound)
	}
	return keys[0], nil
}

// APIKeyByPrefixOrName finds the one key whose display prefix or name is
// exactly s, for commands where an operator names a key. It returns
// [ErrNotFound] if none matches and [ErrAmbiguous] if several do (revoked
// keys included), in which case the caller should ask for the key's ID.
func (s *Store) APIKeyByPrefixOrName(ctx context.Context, str string) (APIKey, error) {
	if str == "" {
		return APIKey{}, errors.New("api key by prefix or name: empty string")
	}
	keys, err := s.apiKeys(ctx, "api_keys_by_prefix_or_name.sql", map[string]any{":s": str})
	switch {
	case err != nil:
		return APIKey{}, fmt.Errorf("api key %q: %w", str, err)
	case len(keys) == 0:
		return APIKey{}, fmt.Errorf("api key %q: %w", str, ErrNotFound)
	case len(keys) > 1:
		return APIKey{}, fmt.Errorf("api key %q: %w: %d keys match", str, ErrAmbiguous, len(keys))
	}
	return keys[0], nil
}

// ListAPIKeys returns every key, revoked and expired ones included, oldest
// first.
func (s *Store) ListAPIKeys(ctx context.Context) ([]APIKey, error) {
	keys, err := s.apiKeys(ctx, "api_keys_list.sql", nil)
	if err != nil {
		return nil, fmt.Errorf("list api keys: %w", err)
	}
	return keys, nil
}

// RevokeAPIKey revokes the key with the given id, or returns [ErrNotFound].
// Revoking a revoked key succeeds, writes nothing and keeps the first
// revocation time.
func (s *Store) RevokeAPIKey(ctx context.Context, id int64) error {
	err := s.write(ctx, func(conn *sqlite.Conn) error {
		k, err := apiKeyBy(conn, "api_key_by_id.sql", map[string]any{":id": id})
		if err != nil {
			return err
		}
		if !k.RevokedAt.IsZero() {
			return nil
		}
		at := now()
		err = sqlitex.ExecuteFS(conn, queries, "api_key_revoke.sql", &sqlitex.ExecOptions{
			Named: map[string]any{":id": id, ":revoked_at": at.UnixMilli()},
		})
		if err != nil {
			return err
		}
		return audit(ctx, conn, "key.revoke", keyTarget(id), map[string]any{"revoked_at": auditTime(at)})
	})
	if err != nil {
		return fmt.Errorf("revoke api key %d: %w", id, err)
	}
	return nil
}

// TouchAPIKey records that the key with the given id was used at t, or
// returns [ErrNotFound]. LastUsedAt never moves backwards. It does not
// change [Store.KeysVersion]. Callers on the request path should
// coalesce touches (say, once a minute per key) rather than write per call.
func (s *Store) TouchAPIKey(ctx context.Context, id int64, t time.Time) error {
	return s.updateAPIKey(ctx, "touch api key", "api_key_touch.sql", map[string]any{
		":id":           id,
		":last_used_at": t.UnixMilli(),
	})
}

func (s *Store) updateAPIKey(ctx context.Context, op, query string, args map[string]any) error {
	err := s.write(ctx, func(conn *sqlite.Conn) error {
		if err := sqlitex.ExecuteFS(conn, queries, query, &sqlitex.ExecOptions{Named: args}); err != nil {
			return err
		}
		if conn.Changes() == 0 {
			return ErrNotFound
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("%s %d: %w", op, args[":id"], err)
	}
	return nil
}

func (s *Store) apiKeys(ctx context.Context, query string, args map[string]any) ([]APIKey, error) {
	var keys []APIKey
	err := s.read(ctx, func(conn *sqlite.Conn) (err error) {
		keys, err = scanAPIKeys(conn, query, args)
		return err
	})
	return keys, err
}

// apiKeyBy returns the one key query finds, or ErrNotFound.
func apiKeyBy(conn *sqlite.Conn, query string, args map[string]any) (APIKey, error) {
	keys, err := scanAPIKeys(conn, query, args)
	if err != nil {
		return APIKey{}, err
	}
	if len(keys) == 0 {
		return APIKey{}, ErrNotFound
	}
	return keys[0], nil
}

func scanAPIKeys(conn *sqlite.Conn, query string, args map[string]any) ([]APIKey, error) {
	var keys []APIKey
	err := sqlitex.ExecuteFS(conn, queries, query, &sqlitex.ExecOptions{
		Named: args,
		ResultFunc: func(stmt *sqlite.Stmt) error {
			keys = append(keys, scanAPIKey(stmt))
			return nil
		},
	})
	return keys, err
}

// scanAPIKey reads the api_keys columns of stmt's current row.
func scanAPIKey(stmt *sqlite.Stmt) APIKey {
	k := APIKey{
		ID:             stmt.GetInt64("id"),
		AccountID:      stmt.GetInt64("account_id"),
		Prefix:         stmt.GetText("prefix"),
		Name:           stmt.GetText("name"),
		Role:           stmt.GetText("role"),
		CreatedAt:      timeCol(stmt, "created_at"),
		ExpiresAt:      timeCol(stmt, "expires_at"),
		RevokedAt:      timeCol(stmt, "revoked_at"),
		LastUsedAt:     timeCol(stmt, "last_used_at"),
		AllowedModels:  parseModels(stmt.GetText("allowed_models")),
		RPM:            int(stmt.GetInt64("rpm")),
		TPM:            int(stmt.GetInt64("tpm")),
		MaxConcurrency: int(stmt.GetInt64("max_concurrency")),
	}
	stmt.GetBytes("key_hash", k.Hash[:])
	return k
}
