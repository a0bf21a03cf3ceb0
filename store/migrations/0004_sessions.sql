-- 0004: dashboard sign-in sessions.
--
-- Conventions as in 0001: times are Unix ms, tables STRICT.
--
-- A session is what the dashboard's HttpOnly cookie stands for: the cookie
-- holds a random token, and only its SHA-256 is stored (token_hash), like
-- API keys. A session acts as the API key it was opened with (key_id); the
-- key is read again on every use, so revoking or expiring the key ends its
-- sessions at once. csrf is the token the dashboard must echo in the
-- X-CSRF-Token header of every state-changing request; it proves nothing
-- without the cookie, so it is kept in clear. Rows past expires_at are
-- dead and are deleted when the next session is created.
CREATE TABLE sessions (
  token_hash BLOB    PRIMARY KEY CHECK (length(token_hash) = 32),
  key_id     INTEGER NOT NULL REFERENCES api_keys (id),
  csrf       TEXT    NOT NULL CHECK (csrf <> ''),
  created_at INTEGER NOT NULL,
  expires_at INTEGER NOT NULL
) STRICT, WITHOUT ROWID;

CREATE INDEX sessions_key_id ON sessions (key_id, created_at);
CREATE INDEX sessions_expires_at ON sessions (expires_at);
