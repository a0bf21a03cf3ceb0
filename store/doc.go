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
// # Changes, audit and versions
//
// Every administrative change (providers, credentials, API keys,
// accounts, model rates) is one method and one transaction. When the
// method's context carries an [Actor] (see [WithActor]): an admin API key
// ("key:12:sk-hub-AbCdEf"), the CLI ("cli:root") or the config seeding
// ("config"), the method appends its audit_log row in that same
// transaction, so that a change is never committed without its audit row
// nor an audit row without its change. Without an Actor nothing is
// audited; an Actor with an empty name fails the change. Audit details
// name the fields set and never hold a secret: a stored credential appears
// as its masked hint. A change that would change nothing writes nothing
// (no audit row, no version bump, UpdatedAt left alone), which keeps
// seeding from hub.toml on every start free. [Store.AppendAudit] adds
// entries for events that are not store changes; recording a key's use
// ([Store.TouchAPIKey]) is never audited.
//
// Triggers count changes in the versions table: [Store.KeysVersion] for
// API keys and [Store.ProvidersVersion] for providers and credentials.
// Other processes (the CLI against a running hub) change the same
// database, so a hub polls these counters to know when to reload its
// caches and routing.
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
// the rare administrative writes. A call's upstream attempts (retries,
// failovers) go to call_attempts in the same transaction as the call, so a
// call is recorded whole or not at all. A call is durable once its batch
// commits; the calls still queued when the process dies are lost, which
// bounds the loss by the queue size. A Recorder blocks rather than drops
// when it falls behind.
package store
