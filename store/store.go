package store

import (
	"context"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"time"

	"zombiezen.com/go/sqlite"
	"zombiezen.com/go/sqlite/sqlitex"
)

// ErrNotFound is returned, wrapped, when a looked-up row does not exist.
var ErrNotFound = errors.New("not found")

// ErrAmbiguous is returned, wrapped, when a lookup meant to find one row
// matches several.
var ErrAmbiguous = errors.New("ambiguous")

//go:embed queries/*.sql
var queryFiles embed.FS

// queries holds every statement the package runs, by file name.
var queries = mustSub(queryFiles, "queries")

func mustSub(fsys fs.FS, dir string) fs.FS {
	sub, err := fs.Sub(fsys, dir)
	if err != nil {
		panic(err)
	}
	return sub
}

// Options configure [Open].
type Options struct {
	// PoolSize is the number of SQLite connections kept open.
	// Readers each hold one connection for the length of a query;
	// writers are serialized by SQLite itself.
	// If less than 1, it defaults to 8.
	PoolSize int

	// BusyTimeout is how long a connection waits for a lock held by another
	// connection (in this or another process) before failing with
	// SQLITE_BUSY. A context passed to a method can end the wait sooner.
	// If zero or negative, it defaults to 5s.
	BusyTimeout time.Duration
}

// Store is the hub's SQLite database.
// It is safe for use by multiple goroutines.
type Store struct {
	pool *sqlitex.Pool

	// writeSem admits one writer of this process at a time, in arrival
	// order; see [Store.write].
	writeSem chan struct{}
	// writer is the connection every write transaction runs on, held with
	// writeSem. One connection for all writes keeps its page cache: in WAL
	// mode a connection drops its whole cache when it sees that another
	// connection changed the database, which a pool rotating writes over
	// its connections made happen at every transaction (profiles showed
	// the hot index pages re-read for each batch of calls).
	writer *sqlite.Conn
}

var errClosed = errors.New("store: closed")

// writerCacheKiB is the writer connection's page cache: the hot pages of
// every table and index written per call (the right edges of the
// time-ordered b-trees, the rollups, the accounts) stay in it.
const writerCacheKiB = 32 << 10

// Open opens the database at path, creating the file and its parent
// directory if needed, and migrates it to the latest schema.
//
// Every connection runs in WAL mode with foreign keys enforced and
// synchronous=NORMAL (see the package documentation for what that means
// for durability).
func Open(ctx context.Context, path string, opts Options) (_ *Store, err error) {
	if path == "" {
		return nil, errors.New("open store: empty path")
	}
	pinSizeClasses()
	if opts.PoolSize < 1 {
		opts.PoolSize = 8
	}
	if opts.BusyTimeout <= 0 {
		opts.BusyTimeout = 5 * time.Second
	}
	migs, err := loadMigrations(migrationFiles)
	if err != nil {
		return nil, fmt.Errorf("open store: %w", err)
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o750); err != nil {
		return nil, fmt.Errorf("open store: %w", err)
	}
	pool, err := sqlitex.NewPool(path, sqlitex.PoolOptions{
		// No OpenURI: path is a file name, never a URI with parameters.
		Flags:       sqlite.OpenReadWrite | sqlite.OpenCreate | sqlite.OpenWAL,
		PoolSize:    opts.PoolSize,
		PrepareConn: prepareConn(opts.BusyTimeout),
	})
	if err != nil {
		return nil, fmt.Errorf("open store %s: %w", path, err)
	}
	s := &Store{pool: pool, writeSem: make(chan struct{}, 1)}
	defer func() {
		if err != nil {
			if s.writer != nil {
				s.writer.Close()
			}
			pool.Close()
		}
	}()
	err = s.read(ctx, func(conn *sqlite.Conn) error { return migrate(conn, migs) })
	if err != nil {
		return nil, fmt.Errorf("open store %s: %w", path, err)
	}
	if s.writer, err = sqlite.OpenConn(path, sqlite.OpenReadWrite|sqlite.OpenWAL); err != nil {
		return nil, fmt.Errorf("open store %s: writer connection: %w", path, err)
	}
	if err = prepareConn(opts.BusyTimeout)(s.writer); err == nil {
		err = sqlitex.ExecuteTransient(s.writer, fmt.Sprintf("PRAGMA cache_size = -%d;", writerCacheKiB), nil)
	}
	if err != nil {
		return nil, fmt.Errorf("open store %s: writer connection: %w", path, err)
	}
	return s, nil
}

// prepareConn sets the per-connection settings. PRAGMA foreign_keys is a
// no-op inside a transaction, so each pragma runs on its own.
func prepareConn(busyTimeout time.Duration) sqlitex.ConnPrepareFunc {
	return func(conn *sqlite.Conn) error {
		conn.SetBusyTimeout(busyTimeout)
		for _, pragma := range []string{
			"PRAGMA foreign_keys = ON;",
			"PRAGMA synchronous = NORMAL;",
		} {
			if err := sqlitex.ExecuteTransient(conn, pragma, nil); err != nil {
				return fmt.Errorf("%s: %w", pragma, err)
			}
		}
		return nil
	}
}

// Close closes every connection, waiting for those in use to be returned.
// Close a [Recorder] writing to s before closing s.
func (s *Store) Close() error {
	// Wait for a write in progress; later ones fail with errClosed.
	s.writeSem <- struct{}{}
	var werr error
	if s.writer != nil {
		werr = s.writer.Close()
		s.writer = nil
	}
	<-s.writeSem
	if err := s.pool.Close(); err != nil {
		return fmt.Errorf("close store: %w", err)
	}
	if werr != nil {
		return fmt.Errorf("close store: %w", werr)
	}
	return nil
}

// takeWriter waits for the writer connection (or ctx's end) and returns it
// with the function that gives it back; ctx interrupts what runs on it.
func (s *Store) takeWriter(ctx context.Context) (*sqlite.Conn, func(), error) {
	select {
	case s.writeSem <- struct{}{}:
	case <-ctx.Done():
		return nil, nil, ctx.Err()
	}
	conn := s.writer
	if conn == nil {
		<-s.writeSem
		return nil, nil, errClosed
	}
	conn.SetInterrupt(ctx.Done())
	return conn, func() {
		conn.SetInterrupt(nil)
		<-s.writeSem
	}, nil
}

// write runs f in an immediate transaction on a pooled connection, and
// commits if f returns nil.
//
// Writers in this process first queue on writeSem, first come first
// served. Left to SQLite alone, a writer that finds the database locked
// sleeps and polls, and a writer that commits often (the Recorder) can
// take the lock again before a sleeping one wakes, starving it past its
// busy timeout. With the queue, the busy timeout only arbitrates with other
// processes (such as the hub CLI).
func (s *Store) write(ctx context.Context, f func(conn *sqlite.Conn) error) (err error) {
	conn, put, err := s.takeWriter(ctx)
	if err != nil {
		return err
	}
	defer put()
	endFn, err := sqlitex.ImmediateTransaction(conn)
	if err != nil {
		return err
	}
	defer endFn(&err)
	return f(conn)
}

// read runs f on a pooled connection.
func (s *Store) read(ctx context.Context, f func(conn *sqlite.Conn) error) error {
	conn, err := s.pool.Take(ctx)
	if err != nil {
		return err
	}
	defer s.pool.Put(conn)
	return f(conn)
}

// SchemaVersion reports the number of migrations applied to the database.
func (s *Store) SchemaVersion(ctx context.Context) (int, error) {
	var v int
	err := s.read(ctx, func(conn *sqlite.Conn) (err error) {
		v, err = userVersion(conn)
		return err
	})
	if err != nil {
		return 0, fmt.Errorf("schema version: %w", err)
	}
	return v, nil
}

// KeysVersion returns a counter that grows whenever an API key is created,
// revoked or otherwise changed in a way that can change an authentication
// decision, by any process. Recording a key's use does not change it.
// Caches of API keys poll it to learn about changes made elsewhere.
func (s *Store) KeysVersion(ctx context.Context) (int64, error) {
	var v int64
	found := false
	err := s.read(ctx, func(conn *sqlite.Conn) error {
		return sqlitex.ExecuteFS(conn, queries, "version_get.sql", &sqlitex.ExecOptions{
			Named: map[string]any{":name": "api_keys"},
			ResultFunc: func(stmt *sqlite.Stmt) error {
				v, found = stmt.ColumnInt64(0), true
				return nil
			},
		})
	})
	if err != nil {
		return 0, fmt.Errorf("keys version: %w", err)
	}
	if !found {
		return 0, fmt.Errorf("keys version: %w", ErrNotFound)
	}
	return v, nil
}

// millis converts t to the stored form: Unix milliseconds, or NULL for the
// zero time.
func millis(t time.Time) any {
	if t.IsZero() {
		return nil
	}
	return t.UnixMilli()
}

// timeCol reads a Unix-milliseconds column; NULL becomes the zero time.
func timeCol(stmt *sqlite.Stmt, col string) time.Time {
	if stmt.IsNull(col) {
		return time.Time{}
	}
	return time.UnixMilli(stmt.GetInt64(col))
}

// now is the current time at the stored precision, so that a value returned
// by a write equals the value read back later.
func now() time.Time {
	return time.UnixMilli(time.Now().UnixMilli())
}
