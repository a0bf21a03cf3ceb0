package store

import (
	"embed"
	"fmt"
	"io/fs"
	"path"
	"sort"
	"strconv"
	"strings"

	"zombiezen.com/go/sqlite"
	"zombiezen.com/go/sqlite/sqlitex"
)

//go:embed migrations/*.sql
var migrationFiles embed.FS

// A migration is one numbered file from migrations/.
type migration struct {
	version int    // 1-based, from the file name
	name    string // file name
	sql     string
}

// loadMigrations reads migrations/NNNN_description.sql from fsys in order.
// The numbers must run 1, 2, 3, … with no gap or repeat: the schema version
// stored in the database is the number of the last migration applied.
func loadMigrations(fsys fs.FS) ([]migration, error) {
	names, err := fs.Glob(fsys, "migrations/*.sql")
	if err != nil {
		return nil, fmt.Errorf("load migrations: %w", err)
	}
	var migs []migration
	for _, name := range names {
		base := path.Base(name)
		num, _, ok := strings.Cut(base, "_")
		if !ok {
			return nil, fmt.Errorf("load migrations: %s: name is not NNNN_description.sql", base)
		}
		v, err := strconv.Atoi(num)
		if err != nil || v < 1 {
			return nil, fmt.Errorf("load migrations: %s: name is not NNNN_description.sql", base)
		}
		text, err := fs.ReadFile(fsys, name)
		if err != nil {
			return nil, fmt.Errorf("load migrations: %w", err)
		}
		migs = append(migs, migration{version: v, name: base, sql: string(text)})
	}
	sort.SliceStable(migs, func(i, j int) bool { return migs[i].version < migs[j].version })
	for i, m := range migs {
		if m.version != i+1 {
			return nil, fmt.Errorf("load migrations: %s: want number %d (numbers must be contiguous from 1)", m.name, i+1)
		}
	}
	return migs, nil
}

// migrate applies the migrations the database has not seen yet, all in one
// immediate transaction: a concurrent opener waits for it, then finds nothing
// left to do, and a failing migration leaves the database as it was.
// The schema version is PRAGMA user_version.
func migrate(conn *sqlite.Conn, migs []migration) (err error) {
	endFn, err := sqlitex.ImmediateTransaction(conn)
	if err != nil {
		return fmt.Errorf("migrate: %w", err)
	}
	defer endFn(&err)

	v, err := userVersion(conn)
	if err != nil {
		return fmt.Errorf("migrate: %w", err)
	}
	if v > len(migs) {
		return fmt.Errorf("migrate: database schema version %d is newer than this program's %d", v, len(migs))
	}
	for _, m := range migs[v:] {
		if err := sqlitex.ExecuteScript(conn, m.sql, nil); err != nil {
			return fmt.Errorf("migrate: %s: %w", m.name, err)
		}
	}
	if v == len(migs) {
		return nil
	}
	// PRAGMA takes no parameters; len(migs) is an int, so this is safe.
	if err := sqlitex.ExecuteTransient(conn, fmt.Sprintf("PRAGMA user_version = %d;", len(migs)), nil); err != nil {
		return fmt.Errorf("migrate: set schema version: %w", err)
	}
	return nil
}

func userVersion(conn *sqlite.Conn) (int, error) {
	var v int
	err := sqlitex.ExecuteTransient(conn, "PRAGMA user_version;", &sqlitex.ExecOptions{
		ResultFunc: func(stmt *sqlite.Stmt) error {
			v = stmt.ColumnInt(0)
			return nil
		},
	})
	return v, err
}
