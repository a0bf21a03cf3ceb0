package store

import (
	"context"
	"path"
	"reflect"
	"regexp"
	"strings"
	"testing"
	"testing/fstest"
	"time"

	"zombiezen.com/go/sqlite"
	"zombiezen.com/go/sqlite/sqlitex"
)

func TestEmbeddedMigrations(t *testing.T) {
	migs, err := loadMigrations(migrationFiles)
	if err != nil {
		t.Fatal(err)
	}
	if len(migs) == 0 {
		t.Fatal("no migrations embedded")
	}
	name := regexp.MustCompile(`^[0-9]{4}_[a-z0-9_]+\.sql$`)
	for i, m := range migs {
		if m.version != i+1 {
			t.Errorf("migration %d is %s", i+1, m.name)
		}
		if !name.MatchString(m.name) {
			t.Errorf("%s: want a name like 0001_init.sql", m.name)
		}
	}
}

func TestLoadMigrations(t *testing.T) {
	file := func(text string) *fstest.MapFile { return &fstest.MapFile{Data: []byte(text)} }
	tests := []struct {
		name    string
		files   fstest.MapFS
		want    []string // migration names in order
		wantErr string
	}{
		{
			name:  "none",
			files: fstest.MapFS{},
		},
		{
			name: "ordered by number, not by name",
			files: fstest.MapFS{
				"migrations/0002_b.sql":  file("b"),
				"migrations/0001_z.sql":  file("a"),
				"migrations/0010_j.sql":  file("j"),
				"migrations/0003_c.sql":  file("c"),
				"migrations/0004_d.sql":  file("d"),
				"migrations/0005_e.sql":  file("e"),
				"migrations/0006_f.sql":  file("f"),
				"migrations/0007_g.sql":  file("g"),
				"migrations/0008_h.sql":  file("h"),
				"migrations/0009_i.sql":  file("i"),
				"migrations/README.txt":  file("not a migration"),
				"migrations/0011_k.sqlx": file("not a migration"),
			},
			want: []string{"0001_z.sql", "0002_b.sql", "0003_c.sql", "0004_d.sql", "0005_e.sql",
				"0006_f.sql", "0007_g.sql", "0008_h.sql", "0009_i.sql", "0010_j.sql"},
		},
		{
			name: "gap",
			files: fstest.MapFS{
				"migrations/0001_a.sql": file("a"),
				"migrations/0003_c.sql": file("c"),
			},
			wantErr: "0003_c.sql: want number 2",
		},
		{
			name: "repeat",
			files: fstest.MapFS{
				"migrations/0001_a.sql": file("a"),
				"migrations/0001_b.sql": file("b"),
			},
			wantErr: "want number 2",
		},
		{
			name:    "starts at zero",
			files:   fstest.MapFS{"migrations/0000_a.sql": file("a")},
			wantErr: "0000_a.sql: name is not",
		},
		{
			name:    "no number",
			files:   fstest.MapFS{"migrations/init.sql": file("a")},
			wantErr: "init.sql: name is not",
		},
		{
			name:    "not a number",
			files:   fstest.MapFS{"migrations/one_init.sql": file("a")},
			wantErr: "one_init.sql: name is not",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			migs, err := loadMigrations(tt.files)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err = %v, want one containing %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, m := range migs {
				got = append(got, m.name)
			}
			if strings.Join(got, ",") != strings.Join(tt.want, ",") {
				t.Fatalf("got %v, want %v", got, tt.want)
			}
		})
	}
}

func TestOpenMigrates(t *testing.T) {
	s, _ := openTest(t, Options{})
	migs, err := loadMigrations(migrationFiles)
	if err != nil {
		t.Fatal(err)
	}
	v, err := s.SchemaVersion(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if v != len(migs) {
		t.Fatalf("SchemaVersion = %d, want %d", v, len(migs))
	}
	for _, table := range []string{"accounts", "api_keys", "providers", "credentials", "model_calls", "versions"} {
		n := queryInt(t, s, "SELECT count(*) FROM sqlite_schema WHERE type = 'table' AND name = '"+table+"';")
		if n != 1 {
			t.Errorf("table %s missing", table)
		}
	}
}

func TestReopenKeepsDataAndVersion(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	file := path.Join(dir, "hub.db")
	s, err := Open(ctx, file, Options{})
	if err != nil {
		t.Fatal(err)
	}
	a, err := s.EnsureAccount(ctx, "acme")
	if err != nil {
		t.Fatal(err)
	}
	v1, err := s.SchemaVersion(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}

	s, err = Open(ctx, file, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	v2, err := s.SchemaVersion(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if v1 != v2 {
		t.Errorf("schema version %d after reopening, was %d", v2, v1)
	}
	got, err := s.AccountByID(ctx, a.ID)
	if err != nil {
		t.Fatal(err)
	}
	if got != a {
		t.Errorf("account after reopening = %+v, want %+v", got, a)
	}
}

// TestMigrateAppliesOnce adds a migration that is not idempotent and checks
// that migrating again does not run it again.
func TestMigrateAppliesOnce(t *testing.T) {
	s, _ := openTest(t, Options{})
	migs, err := loadMigrations(migrationFiles)
	if err != nil {
		t.Fatal(err)
	}
	extra := append(migs[:len(migs):len(migs)], migration{
		version: len(migs) + 1,
		name:    "9999_test.sql",
		sql:     "INSERT INTO accounts (name, created_at) VALUES ('once', 0);",
	})
	for range 3 {
		withConn(t, s, func(conn *sqlite.Conn) {
			if err := migrate(conn, extra); err != nil {
				t.Fatal(err)
			}
		})
	}
	if n := queryInt(t, s, "SELECT count(*) FROM accounts WHERE name = 'once';"); n != 1 {
		t.Errorf("extra migration ran %d times", n)
	}
	if v := queryInt(t, s, "PRAGMA user_version;"); v != int64(len(extra)) {
		t.Errorf("user_version = %d, want %d", v, len(extra))
	}
}

func TestMigrateFailureRollsBack(t *testing.T) {
	s, _ := openTest(t, Options{})
	migs, err := loadMigrations(migrationFiles)
	if err != nil {
		t.Fatal(err)
	}
	extra := append(migs[:len(migs):len(migs)],
		migration{version: len(migs) + 1, name: "9998_ok.sql", sql: "CREATE TABLE t1 (x INTEGER);"},
		migration{version: len(migs) + 2, name: "9999_bad.sql", sql: "CREATE TABLE t2 (x INTEGER); SELEC 1;"},
	)
	withConn(t, s, func(conn *sqlite.Conn) {
		err := migrate(conn, extra)
		if err == nil || !strings.Contains(err.Error(), "9999_bad.sql") {
			t.Fatalf("migrate = %v, want an error naming 9999_bad.sql", err)
		}
	})
	if v := queryInt(t, s, "PRAGMA user_version;"); v != int64(len(migs)) {
		t.Errorf("user_version = %d after a failed migration, want %d", v, len(migs))
	}
	if n := queryInt(t, s, "SELECT count(*) FROM sqlite_schema WHERE name IN ('t1', 't2');"); n != 0 {
		t.Errorf("%d tables of the failed migrations remain", n)
	}
}

func TestOpenNewerSchema(t *testing.T) {
	ctx := context.Background()
	s, file := openTest(t, Options{})
	withConn(t, s, func(conn *sqlite.Conn) {
		if err := sqlitex.ExecuteTransient(conn, "PRAGMA user_version = 999;", nil); err != nil {
			t.Fatal(err)
		}
	})
	_, err := Open(ctx, file, Options{})
	if err == nil || !strings.Contains(err.Error(), "newer") {
		t.Fatalf("Open = %v, want a newer-schema error", err)
	}
}

// TestMigrationStatusChecks migrates a database holding calls and attempts
// recorded under 0004 through 0005 (the tables rebuilt with cheaper status
// checks): every row and column is kept, ids included, the indexes are
// back, new ids follow the old ones, and the status check still refuses
// what it refused.
func TestMigrationStatusChecks(t *testing.T) {
	ctx := context.Background()
	path := t.TempDir() + "/hub.db"
	conn := openAtVersion(t, path, 4)
	err := sqlitex.ExecuteScript(conn, `
		INSERT INTO model_calls (id, request_id, created_at, api, key_id, account_id, provider, credential_id, model,
		  upstream_model, stream, status, http_status, error_type, error_message, prompt_tokens, completion_tokens,
		  cached_tokens, cache_write_tokens, reasoning_tokens, images, usage_estimated, ttfb_us, duration_us, attempts, credits)
		VALUES (7, 'req_a', 1700000000000, 'chat.completions', 2, 1, 'openai', 3, 'gpt-4o', 'gpt-4o-2024', 1, 'ok', 200, '', '',
		  10, 20, 4, 2, 5, 0, 0, 1500, 90000, 1, 1234),
		       (9, 'req_b', 1700000001000, 'messages', 2, 1, 'anthropic', NULL, 'claude', '', 0, 'aborted', 0, 'client_closed', 'gone',
		  1, 2, 0, 0, 0, 1, 1, 0, 5, 2, 0);
		INSERT INTO call_attempts (id, request_id, attempt, started_at, provider, credential_id, upstream_model, status,
		  http_status, error_type, error_message, duration_us)
		VALUES (4, 'req_b', 1, 1700000001000, 'anthropic', NULL, 'claude', 'error', 529, 'overloaded', 'busy', 77),
		       (5, 'req_b', 2, 1700000001100, 'anthropic', 8, 'claude', 'aborted', 0, '', '', 3);`, nil)
	if err != nil {
		t.Fatal(err)
	}
	const callCols = `id, request_id, created_at, api, key_id, account_id, provider, credential_id, model, upstream_model, stream,
		status, http_status, error_type, error_message, prompt_tokens, completion_tokens, cached_tokens, cache_write_tokens,
		reasoning_tokens, images, usage_estimated, ttfb_us, duration_us, attempts, credits`
	const attemptCols = `id, request_id, attempt, started_at, provider, credential_id, upstream_model, status, http_status,
		error_type, error_message, duration_us`
	rows := func(conn *sqlite.Conn, q string) []string {
		t.Helper()
		var out []string
		err := sqlitex.ExecuteTransient(conn, q, &sqlitex.ExecOptions{ResultFunc: func(stmt *sqlite.Stmt) error {
			var cols []string
			for i := range stmt.ColumnCount() {
				if stmt.ColumnType(i) == sqlite.TypeNull {
					cols = append(cols, "NULL")
				} else {
					cols = append(cols, stmt.ColumnText(i))
				}
			}
			out = append(out, strings.Join(cols, "|"))
			return nil
		}})
		if err != nil {
			t.Fatal(err)
		}
		return out
	}
	wantCalls := rows(conn, "SELECT "+callCols+" FROM model_calls ORDER BY id;")
	wantAttempts := rows(conn, "SELECT "+attemptCols+" FROM call_attempts ORDER BY id;")
	wantIndexes := rows(conn, "SELECT name, sql FROM sqlite_schema WHERE type = 'index' AND tbl_name IN ('model_calls', 'call_attempts') ORDER BY name;")
	if len(wantCalls) != 2 || len(wantAttempts) != 2 || len(wantIndexes) != 5 {
		t.Fatalf("before: %d calls, %d attempts, %d indexes", len(wantCalls), len(wantAttempts), len(wantIndexes))
	}
	if err := conn.Close(); err != nil {
		t.Fatal(err)
	}

	s, err := Open(ctx, path, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	withConn(t, s, func(conn *sqlite.Conn) {
		if got := rows(conn, "SELECT "+callCols+" FROM model_calls ORDER BY id;"); !reflect.DeepEqual(got, wantCalls) {
			t.Errorf("calls after:\n%q\nwant\n%q", got, wantCalls)
		}
		if got := rows(conn, "SELECT "+attemptCols+" FROM call_attempts ORDER BY id;"); !reflect.DeepEqual(got, wantAttempts) {
			t.Errorf("attempts after:\n%q\nwant\n%q", got, wantAttempts)
		}
		if got := rows(conn, "SELECT name, sql FROM sqlite_schema WHERE type = 'index' AND tbl_name IN ('model_calls', 'call_attempts') ORDER BY name;"); !reflect.DeepEqual(got, wantIndexes) {
			t.Errorf("indexes after:\n%q\nwant\n%q", got, wantIndexes)
		}
		if got := rows(conn, "SELECT name FROM sqlite_schema WHERE name LIKE '%_new';"); len(got) != 0 {
			t.Errorf("left behind: %q", got)
		}
		if got := rows(conn, "PRAGMA integrity_check;"); !reflect.DeepEqual(got, []string{"ok"}) {
			t.Errorf("integrity_check: %q", got)
		}
		for _, q := range []string{
			"INSERT INTO model_calls (created_at, status) VALUES (1, 'done');",
			"INSERT INTO model_calls (created_at, status) VALUES (1, 'OK');",
			"INSERT INTO call_attempts (request_id, attempt, started_at, status) VALUES ('r', 1, 1, 'pending');",
		} {
			if err := sqlitex.ExecuteTransient(conn, q, nil); sqlite.ErrCode(err) != sqlite.ResultConstraintCheck {
				t.Errorf("%s: %v, want a CHECK failure", q, err)
			}
		}
	})
	recordAll(t, s, []Call{{RequestID: "req_c", CreatedAt: time.UnixMilli(1700000002000), AccountID: 1, KeyID: 2, Provider: "openai",
		Model: "gpt-4o", Status: CallError, Attempts: 1, AttemptLog: []Attempt{{Attempt: 1, Provider: "openai", Status: CallError}}}})
	withConn(t, s, func(conn *sqlite.Conn) {
		if got := rows(conn, "SELECT id, status FROM model_calls WHERE request_id = 'req_c';"); !reflect.DeepEqual(got, []string{"10|error"}) {
			t.Errorf("new call: %q, want id 10 after the old 9", got)
		}
		if got := rows(conn, "SELECT id FROM call_attempts WHERE request_id = 'req_c';"); !reflect.DeepEqual(got, []string{"6"}) {
			t.Errorf("new attempt: %q, want id 6 after the old 5", got)
		}
	})
}

// openAtVersion creates a database at path with the first n migrations
// only, as an older hub left it, and returns a connection to it.
func openAtVersion(t *testing.T, path string, n int) *sqlite.Conn {
	t.Helper()
	migs, err := loadMigrations(migrationFiles)
	if err != nil {
		t.Fatal(err)
	}
	conn, err := sqlite.OpenConn(path, sqlite.OpenReadWrite|sqlite.OpenCreate|sqlite.OpenWAL)
	if err != nil {
		t.Fatal(err)
	}
	if err := migrate(conn, migs[:n]); err != nil {
		t.Fatal(err)
	}
	return conn
}
