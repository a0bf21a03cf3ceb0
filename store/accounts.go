package store

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"zombiezen.com/go/sqlite"
	"zombiezen.com/go/sqlite/sqlitex"
)

// An Account owns API keys and credits (see [Store.ApplyLedger]). The
// ledger's system accounts ("system:grants", …, with negative IDs) are
// accounts too, but are never listed; their names are reserved.
type Account struct {
	ID        int64
	Name      string // unique, non-empty
	CreatedAt time.Time
}

// EnsureAccount returns the account called name, creating it if needed.
// Only a creation is audited.
func (s *Store) EnsureAccount(ctx context.Context, name string) (Account, error) {
	if name == "" {
		return Account{}, errors.New("ensure account: empty name")
	}
	var a Account
	err := s.write(ctx, func(conn *sqlite.Conn) (err error) {
		a, _, err = insertAccount(ctx, conn, name)
		return err
	})
	if err != nil {
		return Account{}, fmt.Errorf("ensure account %q: %w", name, err)
	}
	return a, nil
}

// CreateAccount creates the account called name, or returns [ErrExists]
// if there already is one.
func (s *Store) CreateAccount(ctx context.Context, name string) (Account, error) {
	if name == "" {
		return Account{}, errors.New("create account: empty name")
	}
	var a Account
	err := s.write(ctx, func(conn *sqlite.Conn) error {
		var created bool
		var err error
		a, created, err = insertAccount(ctx, conn, name)
		if err == nil && !created {
			err = ErrExists
		}
		return err
	})
	if err != nil {
		return Account{}, fmt.Errorf("create account %q: %w", name, err)
	}
	return a, nil
}

// insertAccount creates the account called name unless it exists, and
// returns it, in the caller's transaction.
func insertAccount(ctx context.Context, conn *sqlite.Conn, name string) (a Account, created bool, err error) {
	if err := checkAccountName(name); err != nil {
		return Account{}, false, err
	}
	err = sqlitex.ExecuteFS(conn, queries, "account_insert.sql", &sqlitex.ExecOptions{
		Named: map[string]any{":name": name, ":created_at": now().UnixMilli()},
	})
	if err != nil {
		return Account{}, false, err
	}
	created = conn.Changes() > 0
	a, err = accountBy(conn, "account_by_name.sql", ":name", name)
	if err != nil {
		return Account{}, false, err
	}
	if created {
		err = audit(ctx, conn, "account.create", accountTarget(a.ID), map[string]any{"name": name})
	}
	return a, created, err
}

// checkAccountName refuses the names reserved for system accounts.
func checkAccountName(name string) error {
	if strings.HasPrefix(name, reservedAccountPrefix) {
		return fmt.Errorf("name %q: names starting with %q are reserved", name, reservedAccountPrefix)
	}
	return nil
}

// accountTarget is an account's audit target: by ID, which survives a
// rename.
func accountTarget(id int64) string { return fmt.Sprint("account:", id) }

// RenameAccount renames the account with the given id and returns it. It
// returns [ErrNotFound] if there is no such account and [ErrExists] if
// another account is called name.
func (s *Store) RenameAccount(ctx context.Context, id int64, name string) (Account, error) {
	if name == "" {
		return Account{}, fmt.Errorf("rename account %d: empty name", id)
	}
	var a Account
	err := s.write(ctx, func(conn *sqlite.Conn) error {
		old, err := accountBy(conn, "account_by_id.sql", ":id", id)
		if err != nil {
			return err
		}
		if strings.HasPrefix(old.Name, reservedAccountPrefix) {
			return fmt.Errorf("account %q is a system account", old.Name)
		}
		if err := checkAccountName(name); err != nil {
			return err
		}
		if old.Name == name {
			a = old
			return nil
		}
		switch other, err := accountBy(conn, "account_by_name.sql", ":name", name); {
		case err == nil:
			return fmt.Errorf("name %q: %w (account %d)", name, ErrExists, other.ID)
		case !errors.Is(err, ErrNotFound):
			return err
		}
		err = sqlitex.ExecuteFS(conn, queries, "account_rename.sql", &sqlitex.ExecOptions{
			Named: map[string]any{":id": id, ":name": name},
		})
		if err != nil {
			return err
		}
		a = old
		a.Name = name
		return audit(ctx, conn, "account.update", accountTarget(id), map[string]any{"name": name, "old_name": old.Name})
	})
	if err != nil {
		return Account{}, fmt.Errorf("rename account %d: %w", id, err)
	}
	return a, nil
}

// ListAccounts returns every user account, oldest first: system accounts
// are left out.
func (s *Store) ListAccounts(ctx context.Context) ([]Account, error) {
	var out []Account
	err := s.read(ctx, func(conn *sqlite.Conn) error {
		return sqlitex.ExecuteFS(conn, queries, "accounts_list.sql", &sqlitex.ExecOptions{
			ResultFunc: func(stmt *sqlite.Stmt) error {
				out = append(out, scanAccount(stmt))
				return nil
			},
		})
	})
	if err != nil {
		return nil, fmt.Errorf("list accounts: %w", err)
	}
	return out, nil
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
			a, found = scanAccount(stmt), true
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

func scanAccount(stmt *sqlite.Stmt) Account {
	return Account{
		ID:        stmt.GetInt64("id"),
		Name:      stmt.GetText("name"),
		CreatedAt: timeCol(stmt, "created_at"),
	}
}
