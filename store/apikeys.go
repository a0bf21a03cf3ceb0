package store

import (
	"context"
	"errors"
	"fmt"
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
}

// CreateAPIKey stores a new key. The caller supplies AccountID, Hash,
// Prefix, Name, Role (empty means RoleUser) and ExpiresAt; the returned copy
// has ID and CreatedAt set. Other fields of k are ignored.
func (s *Store) CreateAPIKey(ctx context.Context, k APIKey) (APIKey, error) {
	if k.Role == "" {
		k.Role = RoleUser
	}
	switch {
	case k.Role != RoleAdmin && k.Role != RoleUser:
		return APIKey{}, fmt.Errorf("create api key: invalid role %q", k.Role)
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
	if !k.ExpiresAt.IsZero() {
		k.ExpiresAt = time.UnixMilli(k.ExpiresAt.UnixMilli())
	}

	err := s.write(ctx, func(conn *sqlite.Conn) error {
		return sqlitex.ExecuteFS(conn, queries, "api_key_insert.sql", &sqlitex.ExecOptions{
			Named: map[string]any{
				":account_id": k.AccountID,
				":key_hash":   k.Hash[:],
				":prefix":     k.Prefix,
				":name":       k.Name,
				":role":       k.Role,
				":created_at": k.CreatedAt.UnixMilli(),
				":expires_at": millis(k.ExpiresAt),
			},
			ResultFunc: func(stmt *sqlite.Stmt) error {
				k.ID = stmt.GetInt64("id")
				return nil
			},
		})
	})
	if err != nil {
		return APIKey{}, fmt.Errorf("create api key: %w", err)
	}
	return k, nil
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
// Revoking a revoked key succeeds and keeps the first revocation time.
func (s *Store) RevokeAPIKey(ctx context.Context, id int64) error {
	return s.updateAPIKey(ctx, "revoke api key", "api_key_revoke.sql", map[string]any{
		":id":         id,
		":revoked_at": now().UnixMilli(),
	})
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
	err := s.read(ctx, func(conn *sqlite.Conn) error {
		return sqlitex.ExecuteFS(conn, queries, query, &sqlitex.ExecOptions{
			Named: args,
			ResultFunc: func(stmt *sqlite.Stmt) error {
				k := APIKey{
					ID:         stmt.GetInt64("id"),
					AccountID:  stmt.GetInt64("account_id"),
					Prefix:     stmt.GetText("prefix"),
					Name:       stmt.GetText("name"),
					Role:       stmt.GetText("role"),
					CreatedAt:  timeCol(stmt, "created_at"),
					ExpiresAt:  timeCol(stmt, "expires_at"),
					RevokedAt:  timeCol(stmt, "revoked_at"),
					LastUsedAt: timeCol(stmt, "last_used_at"),
				}
				stmt.GetBytes("key_hash", k.Hash[:])
				keys = append(keys, k)
				return nil
			},
		})
	})
	return keys, err
}
