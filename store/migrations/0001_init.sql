-- 0001: the initial schema.
--
-- Conventions for every table:
--   * times are INTEGER Unix milliseconds (UTC); NULL means "never"/"none";
--   * durations are INTEGER microseconds;
--   * booleans are INTEGER 0 or 1;
--   * tables are STRICT, so a wrongly typed value is an error, not a surprise.
--
-- Migrations are append-only: never edit this file once released; add
-- 0002_....sql instead.

CREATE TABLE accounts (
  id         INTEGER PRIMARY KEY,
  name       TEXT    NOT NULL UNIQUE CHECK (name <> ''),
  created_at INTEGER NOT NULL
) STRICT;

-- API keys are stored only as the SHA-256 of the key; prefix is the short
-- clear-text start of the key ("sk-hub-AbCdEf") shown in listings.
CREATE TABLE api_keys (
  id           INTEGER PRIMARY KEY,
  account_id   INTEGER NOT NULL REFERENCES accounts (id),
  key_hash     BLOB    NOT NULL UNIQUE CHECK (length(key_hash) = 32),
  prefix       TEXT    NOT NULL,
  name         TEXT    NOT NULL DEFAULT '',
  role         TEXT    NOT NULL CHECK (role IN ('admin', 'user')),
  created_at   INTEGER NOT NULL,
  expires_at   INTEGER,
  revoked_at   INTEGER,
  last_used_at INTEGER
) STRICT;

CREATE INDEX api_keys_account_id ON api_keys (account_id);
CREATE INDEX api_keys_prefix ON api_keys (prefix);
CREATE INDEX api_keys_name ON api_keys (name);

-- versions holds change counters that other processes poll to invalidate
-- their caches (for example the API key cache in front of api_keys).
CREATE TABLE versions (
  name    TEXT    PRIMARY KEY,
  version INTEGER NOT NULL
) STRICT, WITHOUT ROWID;

INSERT INTO versions (name, version) VALUES ('api_keys', 0);

-- Every change to api_keys that can change an authentication decision bumps
-- the api_keys version. last_used_at is deliberately not among the columns:
-- touching a key must not flush every cache.
CREATE TRIGGER api_keys_version_insert AFTER INSERT ON api_keys
BEGIN
  UPDATE versions SET version = version + 1 WHERE name = 'api_keys';
END;

CREATE TRIGGER api_keys_version_update
AFTER UPDATE OF account_id, key_hash, prefix, name, role, expires_at, revoked_at ON api_keys
BEGIN
  UPDATE versions SET version = version + 1 WHERE name = 'api_keys';
END;

CREATE TRIGGER api_keys_version_delete AFTER DELETE ON api_keys
BEGIN
  UPDATE versions SET version = version + 1 WHERE name = 'api_keys';
END;

CREATE TABLE providers (
  id         INTEGER PRIMARY KEY,
  name       TEXT    NOT NULL UNIQUE CHECK (name <> ''),
  plugin     TEXT    NOT NULL CHECK (plugin <> ''),
  base_url   TEXT    NOT NULL DEFAULT '',
  config     TEXT    NOT NULL DEFAULT '{}' CHECK (json_valid(config)),
  enabled    INTEGER NOT NULL DEFAULT 1 CHECK (enabled IN (0, 1)),
  created_at INTEGER NOT NULL,
  updated_at INTEGER NOT NULL
) STRICT;

-- A credential names where its secret comes from (secret_ref, for example
-- "env:OPENAI_API_KEY") or, once secrets can be stored encrypted, carries
-- the ciphertext itself. The secret never appears here in clear.
CREATE TABLE credentials (
  id          INTEGER PRIMARY KEY,
  provider_id INTEGER NOT NULL REFERENCES providers (id) ON DELETE CASCADE,
  name        TEXT    NOT NULL CHECK (name <> ''),
  secret_ref  TEXT    NOT NULL DEFAULT '',
  ciphertext  BLOB,
  weight      INTEGER NOT NULL DEFAULT 1 CHECK (weight >= 0),
  enabled     INTEGER NOT NULL DEFAULT 1 CHECK (enabled IN (0, 1)),
  created_at  INTEGER NOT NULL,
  UNIQUE (provider_id, name)
) STRICT;

-- model_calls is an append-only log with one row per model call. It has no
-- foreign keys on purpose: history outlives the keys, accounts and
-- credentials it mentions, and the single writer should not pay for FK checks
-- on every insert. provider and model are stored by name for the same reason.
CREATE TABLE model_calls (
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
  status             TEXT    NOT NULL CHECK (status IN ('ok', 'error', 'aborted')),
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
  attempts           INTEGER NOT NULL DEFAULT 0
) STRICT;

CREATE INDEX model_calls_created_at ON model_calls (created_at);
CREATE INDEX model_calls_account_id_created_at ON model_calls (account_id, created_at);
CREATE INDEX model_calls_key_id_created_at ON model_calls (key_id, created_at);
CREATE INDEX model_calls_request_id ON model_calls (request_id);
