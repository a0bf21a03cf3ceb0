INSERT INTO api_keys (account_id, key_hash, prefix, name, role, created_at, expires_at,
                      allowed_models, rpm, tpm, max_concurrency)
VALUES (:account_id, :key_hash, :prefix, :name, :role, :created_at, :expires_at,
        :allowed_models, :rpm, :tpm, :max_concurrency)
RETURNING id;
