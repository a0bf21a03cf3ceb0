INSERT INTO api_keys (account_id, key_hash, prefix, name, role, created_at, expires_at)
VALUES (:account_id, :key_hash, :prefix, :name, :role, :created_at, :expires_at)
RETURNING id;
