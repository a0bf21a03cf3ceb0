-- 0005: cheaper status checks on the two tables written for every call.
--
-- 0001 and 0002 checked status IN ('ok', 'error', 'aborted'). SQLite
-- evaluates an IN list of more than two values by building a temporary
-- b-tree at every execution of the statement, so every recorded call paid
-- for two of them (model_calls and call_attempts): a pager opened and
-- closed, and with the pure-Go allocator an mmap and munmap each, costing
-- more than the inserts themselves. The same rule written with OR accepts
-- exactly the same values and costs a few comparisons
-- (TestHotStatementsBuildNoTempBtree keeps the hot statements free of
-- temporary b-trees).
--
-- SQLite cannot alter a CHECK constraint, so both tables are rebuilt the
-- documented way (https://sqlite.org/lang_altertable.html, "Making Other
-- Kinds Of Table Schema Changes"): create the new table, copy the rows,
-- drop the old, rename, recreate the indexes. Column order, ids and types
-- are unchanged; no view, trigger or foreign key refers to these tables.
-- This runs in the migration's single transaction: a failure leaves the
-- database as it was.

CREATE TABLE model_calls_new (
  id                 INTEGER PRIMARY KEY,
  request_id         TEXT    NOT NULL DEFAULT '',
  created_at         INTEGER NOT NULL,
  api                TEXT    NOT NULL DEFAULT '',
  key_id             INTEGER NOT NULL DEFAULT 0,
  account_id         INTEGER NOT NULL DEFAULT 0,
  provider           TEXT    NOT NULL DEFAULT '',
  credential_id      INTEGER,
  model              TEXT    NOT NULL DEFAULT '',
  upstream_model     TEXT    NOT NULL DEFAULT '',
  stream             INTEGER NOT NULL DEFAULT 0 CHECK (stream IN (0, 1)),
  status             TEXT    NOT NULL CHECK (status = 'ok' OR status = 'error' OR status = 'aborted'),
  http_status        INTEGER NOT NULL DEFAULT 0,
  error_type         TEXT    NOT NULL DEFAULT '',
  error_message      TEXT    NOT NULL DEFAULT '',
  prompt_tokens      INTEGER NOT NULL DEFAULT 0,
  completion_tokens  INTEGER NOT NULL DEFAULT 0,
  cached_tokens      INTEGER NOT NULL DEFAULT 0,
  cache_write_tokens INTEGER NOT NULL DEFAULT 0,
  reasoning_tokens   INTEGER NOT NULL DEFAULT 0,
  images             INTEGER NOT NULL DEFAULT 0,
  usage_estimated    INTEGER NOT NULL DEFAULT 0 CHECK (usage_estimated IN (0, 1)),
  ttfb_us            INTEGER NOT NULL DEFAULT 0,
  duration_us        INTEGER NOT NULL DEFAULT 0,
  attempts           INTEGER NOT NULL DEFAULT 0,
  credits            INTEGER NOT NULL DEFAULT 0
) STRICT;

INSERT INTO model_calls_new (
  id, request_id, created_at, api, key_id, account_id, provider, credential_id,
  model, upstream_model, stream, status, http_status, error_type, error_message,
  prompt_tokens, completion_tokens, cached_tokens, cache_write_tokens,
  reasoning_tokens, images, usage_estimated, ttfb_us, duration_us, attempts, credits)
SELECT
  id, request_id, created_at, api, key_id, account_id, provider, credential_id,
  model, upstream_model, stream, status, http_status, error_type, error_message,
  prompt_tokens, completion_tokens, cached_tokens, cache_write_tokens,
  reasoning_tokens, images, usage_estimated, ttfb_us, duration_us, attempts, credits
FROM model_calls;

DROP TABLE model_calls;
ALTER TABLE model_calls_new RENAME TO model_calls;

CREATE INDEX model_calls_created_at ON model_calls (created_at);
CREATE INDEX model_calls_account_id_created_at ON model_calls (account_id, created_at);
CREATE INDEX model_calls_key_id_created_at ON model_calls (key_id, created_at);
CREATE INDEX model_calls_request_id ON model_calls (request_id);

CREATE TABLE call_attempts_new (
  id             INTEGER PRIMARY KEY,
  request_id     TEXT    NOT NULL,
  attempt        INTEGER NOT NULL CHECK (attempt >= 1),
  started_at     INTEGER NOT NULL,
  provider       TEXT    NOT NULL DEFAULT '',
  credential_id  INTEGER,
  upstream_model TEXT    NOT NULL DEFAULT '',
  status         TEXT    NOT NULL CHECK (status = 'ok' OR status = 'error' OR status = 'aborted'),
  http_status    INTEGER NOT NULL DEFAULT 0,
  error_type     TEXT    NOT NULL DEFAULT '',
  error_message  TEXT    NOT NULL DEFAULT '',
  duration_us    INTEGER NOT NULL DEFAULT 0
) STRICT;

INSERT INTO call_attempts_new (
  id, request_id, attempt, started_at, provider, credential_id, upstream_model,
  status, http_status, error_type, error_message, duration_us)
SELECT
  id, request_id, attempt, started_at, provider, credential_id, upstream_model,
  status, http_status, error_type, error_message, duration_us
FROM call_attempts;

DROP TABLE call_attempts;
ALTER TABLE call_attempts_new RENAME TO call_attempts;

CREATE INDEX call_attempts_request_id ON call_attempts (request_id);
