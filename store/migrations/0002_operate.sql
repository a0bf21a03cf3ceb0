-- 0002: what operators configure and manage at run time: providers and
-- credentials as the runtime truth (hub.toml seeds them), encrypted secrets,
-- API key limits, model rates, the audit log, and per-attempt call records.
--
-- Conventions as in 0001: times are Unix ms, durations µs, booleans 0/1,
-- tables STRICT, money int64 micro-credits.

-- providers.config holds the provider's options object (JSON), which the
-- plugin receives with every request. managed_by says who owns the row:
-- 'config' rows are re-applied from hub.toml at every start, 'api' rows
-- were created through the admin API or CLI and hub.toml never touches them.
ALTER TABLE providers ADD COLUMN models TEXT NOT NULL DEFAULT '[]' CHECK (json_valid(models) AND json_type(models) = 'array');
ALTER TABLE providers ADD COLUMN region TEXT NOT NULL DEFAULT '';
ALTER TABLE providers ADD COLUMN managed_by TEXT NOT NULL DEFAULT 'config' CHECK (managed_by IN ('config', 'api'));

-- A credential's secret is either a reference (secret_ref "env:NAME") or
-- AES-256-GCM ciphertext under the master key (ciphertext). hint is the
-- masked display form ("****abcd": at most the last four characters, none
-- for short secrets); the clear secret is never stored.
ALTER TABLE credentials ADD COLUMN hint TEXT NOT NULL DEFAULT '';
ALTER TABLE credentials ADD COLUMN managed_by TEXT NOT NULL DEFAULT 'config' CHECK (managed_by IN ('config', 'api'));
ALTER TABLE credentials ADD COLUMN updated_at INTEGER NOT NULL DEFAULT 0;

-- Key limits: 0 means unlimited. allowed_models is a JSON array of model
-- patterns ("openai/gpt-4o", "gpt-4o-mini", "anthropic/*", an alias);
-- empty means every model.
ALTER TABLE api_keys ADD COLUMN allowed_models TEXT NOT NULL DEFAULT '[]' CHECK (json_valid(allowed_models) AND json_type(allowed_models) = 'array');
ALTER TABLE api_keys ADD COLUMN rpm INTEGER NOT NULL DEFAULT 0 CHECK (rpm >= 0);
ALTER TABLE api_keys ADD COLUMN tpm INTEGER NOT NULL DEFAULT 0 CHECK (tpm >= 0);
ALTER TABLE api_keys ADD COLUMN max_concurrency INTEGER NOT NULL DEFAULT 0 CHECK (max_concurrency >= 0);

-- The limits decide authentication outcomes too: changing them must flush
-- every key cache, so the version trigger now watches them.
DROP TRIGGER api_keys_version_update;
CREATE TRIGGER api_keys_version_update
AFTER UPDATE OF account_id, key_hash, prefix, name, role, expires_at, revoked_at,
                allowed_models, rpm, tpm, max_concurrency ON api_keys
BEGIN
  UPDATE versions SET version = version + 1 WHERE name = 'api_keys';
END;

-- Any change to providers or credentials bumps the 'providers' version, so a
-- running hub rebuilds its routing after a change made by another process
-- (the CLI) as well as by its own admin API.
INSERT INTO versions (name, version) VALUES ('providers', 0);

CREATE TRIGGER providers_version_insert AFTER INSERT ON providers
BEGIN
  UPDATE versions SET version = version + 1 WHERE name = 'providers';
END;
CREATE TRIGGER providers_version_update AFTER UPDATE ON providers
BEGIN
  UPDATE versions SET version = version + 1 WHERE name = 'providers';
END;
CREATE TRIGGER providers_version_delete AFTER DELETE ON providers
BEGIN
  UPDATE versions SET version = version + 1 WHERE name = 'providers';
END;
CREATE TRIGGER credentials_version_insert AFTER INSERT ON credentials
BEGIN
  UPDATE versions SET version = version + 1 WHERE name = 'providers';
END;
CREATE TRIGGER credentials_version_update AFTER UPDATE ON credentials
BEGIN
  UPDATE versions SET version = version + 1 WHERE name = 'providers';
END;
CREATE TRIGGER credentials_version_delete AFTER DELETE ON credentials
BEGIN
  UPDATE versions SET version = version + 1 WHERE name = 'providers';
END;

-- Per-model rates in micro-credits. model is "provider/model" or a bare
-- model name (which prices that model on every provider that has no
-- provider-specific rate). Token rates are per 1,000,000 tokens.
CREATE TABLE model_rates (
  model              TEXT    PRIMARY KEY CHECK (model <> ''),
  input_per_m        INTEGER NOT NULL DEFAULT 0 CHECK (input_per_m >= 0),
  output_per_m       INTEGER NOT NULL DEFAULT 0 CHECK (output_per_m >= 0),
  cached_read_per_m  INTEGER NOT NULL DEFAULT 0 CHECK (cached_read_per_m >= 0),
  cache_write_per_m  INTEGER NOT NULL DEFAULT 0 CHECK (cache_write_per_m >= 0),
  per_image          INTEGER NOT NULL DEFAULT 0 CHECK (per_image >= 0),
  min_per_call       INTEGER NOT NULL DEFAULT 0 CHECK (min_per_call >= 0),
  updated_at         INTEGER NOT NULL
) STRICT, WITHOUT ROWID;

-- The audit log: one row per change made through the admin API, the CLI or
-- the config seeding. Append-only. actor is "key:ID:PREFIX", "cli:USER" or
-- "config"; detail is a JSON object of the changed fields, never a secret.
CREATE TABLE audit_log (
  id           INTEGER PRIMARY KEY,
  at           INTEGER NOT NULL,
  actor        TEXT    NOT NULL CHECK (actor <> ''),
  actor_key_id INTEGER,
  action       TEXT    NOT NULL CHECK (action <> ''),
  target       TEXT    NOT NULL DEFAULT '',
  detail       TEXT    NOT NULL DEFAULT '{}' CHECK (json_valid(detail))
) STRICT;

CREATE INDEX audit_log_at ON audit_log (at);

-- One row per upstream attempt of a call (retries and failovers each get
-- one), written in the same transaction as the call's model_calls row.
CREATE TABLE call_attempts (
  id             INTEGER PRIMARY KEY,
  request_id     TEXT    NOT NULL,
  attempt        INTEGER NOT NULL CHECK (attempt >= 1),
  started_at     INTEGER NOT NULL,
  provider       TEXT    NOT NULL DEFAULT '',
  credential_id  INTEGER,
  upstream_model TEXT    NOT NULL DEFAULT '',
  status         TEXT    NOT NULL CHECK (status IN ('ok', 'error', 'aborted')),
  http_status    INTEGER NOT NULL DEFAULT 0,
  error_type     TEXT    NOT NULL DEFAULT '',
  error_message  TEXT    NOT NULL DEFAULT '',
  duration_us    INTEGER NOT NULL DEFAULT 0
) STRICT;

CREATE INDEX call_attempts_request_id ON call_attempts (request_id);
