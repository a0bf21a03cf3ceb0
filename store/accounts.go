package store

import (
	"context"
	"errors"
	"fmt"
	"time"

	"zombiezen.com/go/sqlite"
	"zombiezen.com/go/sqlite/sqlitex"
)

// An Account owns API keys and, later, credits.
type Account struct {
	ID        int64
	Name      string // unique, non-empty
	CreatedAt time.Time
}

// EnsureAccount returns the account called name, creating it if needed.
func (s *Store) EnsureAccount(ctx context.Context, name string) (Account, error) {
	if name == "" {
		return Account{}, errors.New("ensure account: empty name")
	}
	var a Account
	err := s.write(ctx, func(conn *sqlite.Conn) (err error) {
		err = sqlitex.ExecuteFS(conn, queries, "account_insert.sql", &sqlitex.ExecOptions{
			Named: map[string]any{":name": name, ":created_at": now().UnixMilli()},
		})
		if err != nil {
			return err
		}
		a, err = accountBy(conn, "account_by_name.sql", ":name", name)
		return err
	})
	if err != nil {
		return Account{}, fmt.Errorf("ensure account %q: %w", name, err)
	}
	return a, nil
}

// AccountByID returns the account with the given id, or [ErrNotFound].
func (s *Store) AccountByID(ctx context.Context, id int64) (Account, error) {
	var a Account
	err := s.read(ctx, func(conn *sqlite.Conn) (err error) {
		a, err = accountBy(conn, "account_by_id.sql", ":id", id)
		return err
	})
	if err != nil {
		return Account{}, fmt.Errorf("account %d: %w", id, err)
	}
	return a, nil
}

// AccountByName returns the account called name, or [ErrNotFound].
func (s *Store) AccountByName(ctx context.Context, name string) (Account, error) {
	var a Account
	err := s.read(ctx, func(conn *sqlite.Conn) (err error) {
		a, err = accountBy(conn, "account_by_name.sql", ":name", name)
		return err
	})
	if err != nil {
		return Account{}, fmt.Errorf("account %q: %w", name, err)
	}
	return a, nil
}

func accountBy(conn *sqlite.Conn, query, param string, arg any) (Account, error) {
	var a Account
	found := false
	err := sqlitex.ExecuteFS(conn, queries, query, &sqlitex.ExecOptions{
		Named: map[string]any{param: arg},
		ResultFunc: func(stmt *sqlite.Stmt) error {
			a = Account{
				ID:        stmt.GetInt64("id"),
				Name:      stmt.GetText("name"),
				CreatedAt: timeCol(stmt, "created_at"),
			}
			found = true
			return nil
		},
	})
	if err != nil {
		return Account{}, err
	}
	if !found {
		return Account{}, ErrNotFound
	}
	return a, nil
}
