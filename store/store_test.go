package store

import (
	"context"
	"io/fs"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"zombiezen.com/go/sqlite"
	"zombiezen.com/go/sqlite/sqlitex"
)

// openTest opens a store in a fresh directory and closes it at the end of
// the test.
func openTest(t testing.TB, opts Options) (*Store, string) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "sub", "hub.db")
	s, err := Open(context.Background(), path, opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := s.Close(); err != nil {
			t.Error(err)
		}
	})
	return s, path
}

// withConn runs f on a connection from s's pool.
func withConn(t testing.TB, s *Store, f func(conn *sqlite.Conn)) {
	t.Helper()
	conn, err := s.pool.Take(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	defer s.pool.Put(conn)
	f(conn)
}

// queryInt runs a one-row, one-column query.
func queryInt(t testing.TB, s *Store, query string) int64 {
	t.Helper()
	var v int64
	withConn(t, s, func(conn *sqlite.Conn) {
		err := sqlitex.ExecuteTransient(conn, query, &sqlitex.ExecOptions{
			ResultFunc: func(stmt *sqlite.Stmt) error {
				v = stmt.ColumnInt64(0)
				return nil
			},
		})
		if err != nil {
			t.Fatalf("%s: %v", query, err)
		}
	})
	return v
}

// holdWriteLock takes the database's write lock from a connection outside
// the store's pool, as another process would, until release is called.
func holdWriteLock(t testing.TB, path string) (release func()) {
	t.Helper()
	conn, err := sqlite.OpenConn(path, sqlite.OpenReadWrite)
	if err != nil {
		t.Fatal(err)
	}
	if err := sqlitex.ExecuteTransient(conn, "BEGIN IMMEDIATE;", nil); err != nil {
		conn.Close()
		t.Fatal(err)
	}
	released := false
	release = func() {
		if released {
			return
		}
		released = true
		if err := sqlitex.ExecuteTransient(conn, "ROLLBACK;", nil); err != nil {
			t.Error(err)
		}
		if err := conn.Close(); err != nil {
			t.Error(err)
		}
	}
	t.Cleanup(release)
	return release
}

func TestOpenSettings(t *testing.T) {
	const poolSize = 3
	s, path := openTest(t, Options{PoolSize: poolSize})
	if !strings.HasSuffix(path, filepath.Join("sub", "hub.db")) {
		t.Fatalf("path = %s", path)
	}
	// Check every connection, not just the first one.
	var conns []*sqlite.Conn
	for range poolSize {
		conn, err := s.pool.Take(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		conns = append(conns, conn)
	}
	defer func() {
		for _, conn := range conns {
			s.pool.Put(conn)
		}
	}()
	for i, conn := range conns {
		for _, tt := range []struct {
			pragma string
			want   string
		}{
			{"PRAGMA journal_mode;", "wal"},
			{"PRAGMA foreign_keys;", "1"},
			{"PRAGMA synchronous;", "1"}, // NORMAL
		} {
			var got string
			err := sqlitex.ExecuteTransient(conn, tt.pragma, &sqlitex.ExecOptions{
				ResultFunc: func(stmt *sqlite.Stmt) error {
					got = stmt.ColumnText(0)
					return nil
				},
			})
			if err != nil {
				t.Fatal(err)
			}
			if got != tt.want {
				t.Errorf("conn %d: %s = %q, want %q", i, tt.pragma, got, tt.want)
			}
		}
	}
}

func TestOpenEmptyPath(t *testing.T) {
	if _, err := Open(context.Background(), "", Options{}); err == nil {
		t.Fatal("Open(\"\") succeeded")
	}
}

// TestQueriesPrepare prepares every file in queries/ against the migrated
// schema, so a typo fails here rather than on the first request using it.
func TestQueriesPrepare(t *testing.T) {
	s, _ := openTest(t, Options{})
	names, err := fs.Glob(queries, "*.sql")
	if err != nil {
		t.Fatal(err)
	}
	if len(names) == 0 {
		t.Fatal("no queries embedded")
	}
	withConn(t, s, func(conn *sqlite.Conn) {
		for _, name := range names {
			text, err := fs.ReadFile(queries, name)
			if err != nil {
				t.Fatal(err)
			}
			stmt, trailing, err := conn.PrepareTransient(strings.TrimSpace(string(text)))
			if err != nil {
				t.Errorf("%s: %v", name, err)
				continue
			}
			stmt.Finalize()
			if trailing != 0 {
				t.Errorf("%s: more than one statement", name)
			}
		}
	})
}

// TestCallsQueriesUseIndexes guards against a query over model_calls or
// call_attempts, which grow without bound, (or over api_keys) turning into a
// full table scan.
func TestCallsQueriesUseIndexes(t *testing.T) {
	s, _ := openTest(t, Options{})
	for _, tt := range []struct {
		query string
		index string
		// sorts says the plan may sort its rows: a request ID matches
		// only a handful of calls.
		sorts bool
	}{
		{"calls_recent.sql", "model_calls_created_at", false},
		{"calls_by_key.sql", "model_calls_key_id_created_at", false},
		{"calls_by_request.sql", "model_calls_request_id", true},
		{"attempts_by_request.sql", "call_attempts_request_id", true},
		{"api_keys_by_account.sql", "api_keys_account_id", false},
	} {
		t.Run(tt.query, func(t *testing.T) {
			text, err := fs.ReadFile(queries, tt.query)
			if err != nil {
				t.Fatal(err)
			}
			var plan []string
			withConn(t, s, func(conn *sqlite.Conn) {
				stmt, _, err := conn.PrepareTransient("EXPLAIN QUERY PLAN " + strings.TrimSpace(string(text)))
				if err != nil {
					t.Fatal(err)
				}
				defer stmt.Finalize()
				for {
					row, err := stmt.Step()
					if err != nil {
						t.Fatal(err)
					}
					if !row {
						break
					}
					plan = append(plan, stmt.GetText("detail"))
				}
			})
			joined := strings.Join(plan, "\n")
			if !strings.Contains(joined, "USING INDEX "+tt.index) {
				t.Errorf("plan does not use %s:\n%s", tt.index, joined)
			}
			if !tt.sorts && strings.Contains(joined, "TEMP B-TREE") {
				t.Errorf("plan sorts in a temporary b-tree:\n%s", joined)
			}
		})
	}
}

func TestTruncateUTF8(t *testing.T) {
	for _, tt := range []struct {
		s    string
		n    int
		want string
	}{
		{"hello", 10, "hello"},
		{"hello", 5, "hello"},
		{"hello", 3, "hel"},
		{"héllo", 2, "h"}, // é is 2 bytes: do not split it
		{"héllo", 3, "hé"},
		{"日本", 4, "日"},
		{"日本", 0, ""},
	} {
		if got := truncateUTF8(tt.s, tt.n); got != tt.want {
			t.Errorf("truncateUTF8(%q, %d) = %q, want %q", tt.s, tt.n, got, tt.want)
		}
	}
}

func TestNowIsStoredPrecision(t *testing.T) {
	n := now()
	if !n.Equal(time.UnixMilli(n.UnixMilli())) {
		t.Fatalf("now() = %v has sub-millisecond precision", n)
	}
}
