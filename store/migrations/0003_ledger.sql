-- 0003: the credit ledger (double-entry, append-only, int64 micro-credits)
-- and the usage statistics rollups.
--
-- Conventions as in 0001: times are Unix ms, durations µs, booleans 0/1,
-- tables STRICT, money int64 micro-credits.

-- Accounts are user accounts (they own API keys and credits) or system
-- accounts, which hold the counter legs of the ledger's transactions and are
-- never listed to users. balance is the account's available balance: the sum
-- of its ledger entries, kept up to date in the transaction that posts them;
-- ledger_seq counts the ledger transactions that touched the account, so a
-- process caching balances learns of changes made by another one. A user's
-- balance never goes below zero; system balances may (system:grants is
-- minus every credit ever granted).
ALTER TABLE accounts ADD COLUMN kind TEXT NOT NULL DEFAULT 'user' CHECK (kind IN ('user', 'system'));
ALTER TABLE accounts ADD COLUMN balance INTEGER NOT NULL DEFAULT 0 CHECK (balance >= 0 OR kind = 'system');
ALTER TABLE accounts ADD COLUMN ledger_seq INTEGER NOT NULL DEFAULT 0 CHECK (ledger_seq >= 0);

-- The counter accounts take IDs -1 to -4, apart from user accounts, which
-- are numbered from 1 (account_insert.sql picks max(id, 0) + 1, since
-- SQLite's own choice after negative IDs would be 0). Names starting with
-- "system:" are reserved.
INSERT INTO accounts (id, name, created_at, kind) VALUES
  (-1, 'system:grants',      CAST(unixepoch('subsec') * 1000 AS INTEGER), 'system'),
  (-2, 'system:holds',       CAST(unixepoch('subsec') * 1000 AS INTEGER), 'system'),
  (-3, 'system:revenue',     CAST(unixepoch('subsec') * 1000 AS INTEGER), 'system'),
  (-4, 'system:adjustments', CAST(unixepoch('subsec') * 1000 AS INTEGER), 'system');

-- Every ledger transaction is exactly two entries (legs) with the same
-- txn_id whose amounts sum to zero; amount is signed (+ credits the
-- account). The legs by kind (U is the user account):
--   grant X:      U +X, system:grants −X
--   hold X:       U −X, system:holds +X
--   capture X:    system:holds −X, system:revenue +X
--   release X:    system:holds −X, U +X
--   refund X:     system:revenue −X, U +X
--   adjustment X: U +X, system:adjustments −X (X of either sign)
--   charge X:     U −X, system:revenue +X (a request charged without a hold)
-- user_account_id is U on both legs, captures included, so that a user's
-- transactions (and charges) are found by one index. request_id, kind, memo,
-- detail and expires_at are the transaction's and repeated on both legs.
-- A transaction with a request id has txn_id "<request_id>:<kind>"; others
-- get a random "txn-…" id. Rows are never updated or deleted.
CREATE TABLE ledger_entries (
  id              INTEGER PRIMARY KEY,
  at              INTEGER NOT NULL,
  txn_id          TEXT    NOT NULL CHECK (txn_id <> ''),
  request_id      TEXT    NOT NULL DEFAULT '',
  account_id      INTEGER NOT NULL REFERENCES accounts (id),
  user_account_id INTEGER NOT NULL REFERENCES accounts (id),
  -- Not kind IN (…): SQLite checks a list of more than two values with a
  -- temporary b-tree built at every insert, which costs more than the
  -- insert itself.
  kind            TEXT    NOT NULL CHECK (kind = 'grant' OR kind = 'hold' OR kind = 'capture' OR kind = 'release'
                                          OR kind = 'refund' OR kind = 'adjustment' OR kind = 'charge'),
  amount          INTEGER NOT NULL CHECK (amount <> 0),
  memo            TEXT    NOT NULL DEFAULT '',
  detail          TEXT    NOT NULL DEFAULT '{}' CHECK (json_valid(detail)),
  expires_at      INTEGER
) STRICT;

-- Idempotency: one transaction of each kind per request id. Both legs of a
-- transaction share (request_id, kind), so the account completes the key.
CREATE UNIQUE INDEX ledger_entries_request ON ledger_entries (request_id, kind, account_id)
  WHERE request_id <> '';
-- A user's transactions by time: statements and "charged since".
CREATE INDEX ledger_entries_user_at ON ledger_entries (user_account_id, at);

-- The holds not yet settled, one row per request: derived from the entries
-- (like accounts.balance) so that capture and release bounds are one lookup
-- and crash recovery does not scan the whole ledger. A row is deleted when
-- captured + released reaches held.
CREATE TABLE ledger_holds (
  request_id TEXT    PRIMARY KEY CHECK (request_id <> ''),
  account_id INTEGER NOT NULL REFERENCES accounts (id),
  held       INTEGER NOT NULL CHECK (held > 0),
  captured   INTEGER NOT NULL DEFAULT 0 CHECK (captured >= 0),
  released   INTEGER NOT NULL DEFAULT 0 CHECK (released >= 0),
  at         INTEGER NOT NULL,
  CHECK (captured + released < held)
) STRICT, WITHOUT ROWID;

-- The amount charged for a call (the capture of its request), as recorded.
ALTER TABLE model_calls ADD COLUMN credits INTEGER NOT NULL DEFAULT 0;

-- Usage rollups: one row per UTC hour or day and (account, key, provider,
-- model), updated by the call recorder in the transaction that inserts the
-- calls. Percentiles cannot be summed, so each row keeps a histogram of
-- TTFB and of duration (a sparse list of log-spaced bucket counts, see
-- store/stats.go); the p50/p95 columns are computed from them at each
-- update, for reading with plain SQL. errors counts status 'error',
-- aborted status 'aborted'; TTFB is counted only for calls that sent a
-- first byte (ttfb_us > 0).
CREATE TABLE model_call_stats (
  bucket             TEXT    NOT NULL CHECK (bucket IN ('hour', 'day')),
  start              INTEGER NOT NULL,
  account_id         INTEGER NOT NULL,
  key_id             INTEGER NOT NULL,
  provider           TEXT    NOT NULL,
  model              TEXT    NOT NULL,
  calls              INTEGER NOT NULL DEFAULT 0,
  errors             INTEGER NOT NULL DEFAULT 0,
  aborted            INTEGER NOT NULL DEFAULT 0,
  prompt_tokens      INTEGER NOT NULL DEFAULT 0,
  completion_tokens  INTEGER NOT NULL DEFAULT 0,
  cached_tokens      INTEGER NOT NULL DEFAULT 0,
  cache_write_tokens INTEGER NOT NULL DEFAULT 0,
  reasoning_tokens   INTEGER NOT NULL DEFAULT 0,
  images             INTEGER NOT NULL DEFAULT 0,
  credits            INTEGER NOT NULL DEFAULT 0,
  ttfb_hist          BLOB    NOT NULL DEFAULT x'',
  duration_hist      BLOB    NOT NULL DEFAULT x'',
  ttfb_p50_us        INTEGER NOT NULL DEFAULT 0,
  ttfb_p95_us        INTEGER NOT NULL DEFAULT 0,
  duration_p50_us    INTEGER NOT NULL DEFAULT 0,
  duration_p95_us    INTEGER NOT NULL DEFAULT 0,
  PRIMARY KEY (bucket, start, account_id, key_id, provider, model)
) STRICT, WITHOUT ROWID;

-- Roll up the calls recorded before this migration. Their counters are
-- exact; their histograms stay empty (no percentiles for them).
INSERT INTO model_call_stats (bucket, start, account_id, key_id, provider, model,
  calls, errors, aborted, prompt_tokens, completion_tokens, cached_tokens,
  cache_write_tokens, reasoning_tokens, images, credits)
SELECT 'hour', created_at - created_at % 3600000, account_id, key_id, provider, model,
  count(*), sum(status = 'error'), sum(status = 'aborted'), sum(prompt_tokens),
  sum(completion_tokens), sum(cached_tokens), sum(cache_write_tokens),
  sum(reasoning_tokens), sum(images), sum(credits)
FROM model_calls
GROUP BY 2, 3, 4, 5, 6;

INSERT INTO model_call_stats (bucket, start, account_id, key_id, provider, model,
  calls, errors, aborted, prompt_tokens, completion_tokens, cached_tokens,
  cache_write_tokens, reasoning_tokens, images, credits)
SELECT 'day', created_at - created_at % 86400000, account_id, key_id, provider, model,
  count(*), sum(status = 'error'), sum(status = 'aborted'), sum(prompt_tokens),
  sum(completion_tokens), sum(cached_tokens), sum(cache_write_tokens),
  sum(reasoning_tokens), sum(images), sum(credits)
FROM model_calls
GROUP BY 2, 3, 4, 5, 6;
