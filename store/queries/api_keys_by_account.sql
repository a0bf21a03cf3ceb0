SELECT id, account_id, key_hash, prefix, name, role, created_at, expires_at, revoked_at, last_used_at,
       allowed_models, rpm, tpm, max_concurrency
FROM api_keys
WHERE account_id = :account_id
ORDER BY id;
