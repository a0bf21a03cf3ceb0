// Package store is the hub's database: SQLite through zombiezen.com/go/sqlite,
// and the only package in the hub that writes SQL.
//
// It exists so that the rest of the hub deals in Go values (accounts, API
// keys, providers, credentials, recorded calls, credits) and never in connections,
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
// never edited; a change is a new file (0005 rebuilds model_calls and
// call_attempts to replace a CHECK SQLite evaluated with a temporary
// b-tree per insert: on upgrade it copies those tables once).
//
// The statements run for every call or request build no temporary b-tree
// (TestHotStatementsBuildNoTempBtree). SQLite's allocations go to
// modernc.org/memory, which unmaps a size class's page when its last object
// is freed; [Open] keeps one object of every class alive (malloc.go) so that
// SQLite's one-at-a-time buffers do not cost an mmap and a munmap each.
//
// Every other statement is a file in queries/, embedded and run by name
// with [sqlitex.ExecuteFS], which caches the prepared statement per
// connection. The ledger's write path, run for every call, prepares the
// text of its files (read once) with [sqlite.Conn.Prepare] and binds its
// parameters directly: ExecuteFS reads the file again at every call.
// Writes run in [sqlitex.ImmediateTransaction], which takes the
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
// # Credit ledger
//
// Credits are int64 micro-credits in a double-entry, append-only ledger
// (ledger_entries). Every transaction is exactly two entries with the same
// txn_id whose amounts sum to zero: one on the user account, or for a
// capture on system:holds, and one on a system account (system:grants,
// system:holds, system:revenue, system:adjustments; accounts of kind
// 'system', with negative IDs, never listed to users). A request's credits
// move hold → capture + release: the hold takes the estimate from the
// user's balance into system:holds before the call; after it, the capture
// moves the cost from system:holds to system:revenue and the release gives
// the rest back, so that capture + release equal the hold. A charge (a
// call settled without a written hold, or usage beyond a hold) is one
// transaction from the user to system:revenue; a request is either held
// or charged, never both. Refunds move credits back from system:revenue,
// at most what the request's capture or charge took; grants and
// adjustments move them between the user and their counter account.
//
// accounts.balance is the account's available balance, the sum of its
// entries, updated in the transaction that posts them, and a user's
// balance never goes below zero: an operation that would take it there
// fails with [ErrInsufficientCredits] and writes nothing. ledger_seq
// counts the transactions that touched an account; a hub caching
// balances reads them back with [Store.Balances] to learn of changes made
// by another process (a grant from the CLI). Operations with a request ID are
// idempotent: a request has at most one transaction of each kind, and
// applying one again reports a duplicate. The unsettled holds are kept in
// ledger_holds, so that bounds checks and crash recovery
// ([Store.OpenHolds]) do not scan the ledger. [Store.VerifyLedger] checks
// every one of these invariants against the entries.
//
// [Store.ApplyLedger] applies a batch of operations in one transaction:
// the hub's ledger writer group-commits the holds, captures and charges of
// many requests, and one failing operation does not sink the others. The
// batch is the unit of work, because the ledger is on every call's path:
// it reads each account and each request's transactions once, keeps the
// balances and holds in Go while it applies the operations in order, and
// writes each account's balance and each changed hold once, at its end.
// An operation is checked in full (balance, bounds of its hold,
// idempotency) before it writes anything, and its only writes are its two
// entries, so a failing one needs no savepoint: should the schema refuse
// the second entry, the first is deleted again in the same transaction.
// The statements of this path build no temporary b-tree (no IN list of
// more than two values, in a query or a CHECK constraint) and need no
// statement journal (one row per statement): with modernc's allocator,
// either costs a map and an unmap of memory at every run. A grant's
// expiry is stored but not enforced: nothing sweeps expired grants yet.
//
// # Usage statistics
//
// The Recorder keeps hourly and daily rollups of the calls it records
// (model_call_stats, by account, key, provider and model) in the same
// transaction as the calls, so they always agree with model_calls.
// Percentiles cannot be summed, so every rollup row keeps a histogram of
// TTFB and of duration, log-spaced with four buckets per doubling from
// 100µs to about 14 minutes; rows merge their histograms when
// [Store.Stats] groups them, and a percentile is precise to within one
// bucket (19% of the value). [Store.WriteCallsCSV] and
// [Store.WriteStatsCSV] export calls and statistics.
//
// # Durability
//
// Connections run in WAL mode with synchronous=NORMAL. A committed
// transaction survives a crash of the hub; after a power loss or OS crash,
// the transactions committed since the last WAL sync (at most a
// checkpoint's worth) may be rolled back, but the database is never
// corrupted. This trades a little durability on power loss for commits
// without an fsync each, which is what lets one writer keep up with a
// busy gateway.
//
// Ledger transactions are the exception: they commit with
// synchronous=FULL, which syncs the WAL at every commit, so that a
// committed grant, hold, capture or charge survives a power loss too (and
// so do the transactions committed before it). Batching keeps the cost of
// the fsync to one per batch of operations. The ledger's connection is
// switched to FULL for the transaction and back to NORMAL after it: two
// PRAGMA statements per batch, which invalidate no prepared statement and
// cost under 1% of a batch of 100 operations, where a connection kept for
// the ledger alone would take one from the pool. The fsync is a large
// part of what is left of a batch's cost: on a 2-core VM, a batch of 100
// charges takes 2 to 3 ms with FULL against 1.5 to 2 ms with NORMAL, and
// a single charge about 220 µs against 110 µs. Batching is what makes FULL
// affordable, so the ledger keeps it for every batch.
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
// when it falls behind. A lost call loses its record and its statistics,
// never its money: the charge is in the ledger, written separately.
package store
