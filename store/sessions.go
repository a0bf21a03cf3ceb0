package store

import (
	"context"
	"errors"
	"fmt"
	"time"

	"zombiezen.com/go/sqlite"
	"zombiezen.com/go/sqlite/sqlitex"
)

// MaxSessionsPerKey is how many live sessions one API key keeps: creating
// one more deletes that key's oldest.
const MaxSessionsPerKey = 20

// A Session is a dashboard sign-in: a random token, held by the browser in
// a cookie and stored only as its SHA-256, that acts as the API key KeyID.
type Session struct {
	TokenHash [32]byte // SHA-256 of the cookie's token; unique
	KeyID     int64
	// CSRF is the token state-changing requests must echo; it is worth
	// nothing without the cookie, so it is stored in clear.
	CSRF      string
	CreatedAt time.Time
	ExpiresAt time.Time
}

// CreateSession stores s (CreatedAt is set here; ExpiresAt must be later)
// and, in the same transaction, deletes every expired session and the
// oldest of s.KeyID's beyond [MaxSessionsPerKey]. It is not audited:
// signing in changes no setting. It returns an error wrapping ErrNotFound
// when the key does not exist.
func (s *Store) CreateSession(ctx context.Context, sess Session) (Session, error) {
	sess.CreatedAt = now()
	sess.ExpiresAt = truncMillis(sess.ExpiresAt)
	switch {
	case sess.TokenHash == [32]byte{}:
		return Session{}, errors.New("create session: zero token hash")
	case sess.CSRF == "":
		return Session{}, errors.New("create session: empty csrf token")
	case !sess.ExpiresAt.After(sess.CreatedAt):
		return Session{}, errors.New("create session: expires before it starts")
	}
	err := s.write(ctx, func(conn *sqlite.Conn) error {
		if _, err := apiKeyBy(conn, "api_key_by_id.sql", map[string]any{":id": sess.KeyID}); err != nil {
			return fmt.Errorf("api key %d: %w", sess.KeyID, err)
		}
		err := sqlitex.ExecuteFS(conn, queries, "session_insert.sql", &sqlitex.ExecOptions{
			Named: map[string]any{
				":token_hash": sess.TokenHash[:],
				":key_id":     sess.KeyID,
				":csrf":       sess.CSRF,
				":created_at": sess.CreatedAt.UnixMilli(),
				":expires_at": sess.ExpiresAt.UnixMilli(),
			},
		})
		if err != nil {
			return err
		}
		return sqlitex.ExecuteFS(conn, queries, "session_prune.sql", &sqlitex.ExecOptions{
			Named: map[string]any{":now": sess.CreatedAt.UnixMilli(), ":key_id": sess.KeyID, ":keep": MaxSessionsPerKey},
		})
	})
	if err != nil {
		return Session{}, fmt.Errorf("create session: %w", err)
	}
	return sess, nil
}

// SessionByHash returns the session whose token hashes to hash and its API
// key as stored now, or ErrNotFound. Expired sessions, and those of
// revoked or expired keys, are returned too: the caller decides.
func (s *Store) SessionByHash(ctx context.Context, hash [32]byte) (Session, APIKey, error) {
	var (
		sess  Session
		key   APIKey
		found bool
	)
	err := s.read(ctx, func(conn *sqlite.Conn) error {
		return sqlitex.ExecuteFS(conn, queries, "session_by_hash.sql", &sqlitex.ExecOptions{
			Named: map[string]any{":token_hash": hash[:]},
			ResultFunc: func(stmt *sqlite.Stmt) error {
				found = true
				key = scanAPIKey(stmt)
				sess = Session{TokenHash: hash, KeyID: key.ID, CSRF: stmt.GetText("session_csrf"),
					CreatedAt: timeCol(stmt, "session_created_at"), ExpiresAt: timeCol(stmt, "session_expires_at")}
				return nil
			},
		})
	})
	switch {
	case err != nil:
		return Session{}, APIKey{}, fmt.Errorf("session by hash: %w", err)
	case !found:
		return Session{}, APIKey{}, fmt.Errorf("session by hash: %w", ErrNotFound)
	}
	return sess, key, nil
}

// DeleteSession deletes the session whose token hashes to hash. Deleting
// a session that does not exist succeeds.
func (s *Store) DeleteSession(ctx context.Context, hash [32]byte) error {
	err := s.write(ctx, func(conn *sqlite.Conn) error {
		return sqlitex.ExecuteFS(conn, queries, "session_delete.sql", &sqlitex.ExecOptions{
			Named: map[string]any{":token_hash": hash[:]},
		})
	})
	if err != nil {
		return fmt.Errorf("delete session: %w", err)
	}
	return nil
}
