package store

import (
	"context"
	"path"
	"regexp"
	"strings"
	"testing"
	"testing/fstest"

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
