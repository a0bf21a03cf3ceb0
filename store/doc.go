// Package store is the hub's database: SQLite through zombiezen.com/go/sqlite,
// and the only package in the hub that writes SQL.
//
// It exists so that the rest of the hub deals in Go values (accounts, API
// keys, providers, credentials, recorded calls) and never in connections,
// transactions or schema. Keeping every statement in one package keeps the
// schema, its migrations and its queries reviewable together, and leaves
// one seam at which a second implementation (PostgreSQL, for running
// several replicas) can be put behind the same methods and tests.
//
// # Layout
//
// The schema is built by numbered, append-only migrations embedded from
// migrations/ (0001_init.sql, 0002_….sql, …). [Open] applies the ones a
// database has not seen, in order, in one immediate transaction, and
// tracks the schema version in PRAGMA user_version. A released migration is
// never edited; a change is a new file.
//
// Every other statement is a file in queries/, embedded and run by name
// with [sqlitex.ExecuteFS], which caches the prepared statement per
// connection. Writes run in [sqlitex.ImmediateTransaction], which takes the
// write lock up front so that a transaction cannot fail half-way with
// SQLITE_BUSY when it upgrades from reading to writing; helpers that run
// inside a caller's transaction use defer sqlitex.Save(conn)(&err). The
// writers of one process queue for the write lock in Go, in arrival order,
// because SQLite's own busy handler polls and lets a frequent writer starve
// the others; the busy timeout ([Options].BusyTimeout) is left to arbitrate
// with other processes, such as the hub's admin commands.
//
// # Durability
//
// Connections run in WAL mode with synchronous=NORMAL. A committed
// transaction survives a crash of the hub; after a power loss or OS crash,
// the transactions committed since the last WAL sync (at most a
// checkpoint's worth) may be rolled back, but the database is never
// corrupted. This trades a little durability on power loss for commits
// without an fsync each, which is what lets one writer keep up with a
// busy gateway. Money is not written through this path yet; the credit
// ledger, when it comes, may choose synchronous=FULL for its transactions.
//
// Calls are recorded by a [Recorder]: one goroutine, one write transaction
// per batch of queued calls (group commit). SQLite allows one writer at a
// time anyway, so a single writer that batches turns thousands of
// per-request transactions into a few, and keeps the write lock free for
// the rare administrative writes. A call is durable once its batch commits;
// the calls still queued when the process dies are lost, which bounds the
// loss by the queue size. A Recorder blocks rather than drops when it falls
// behind.
package store
