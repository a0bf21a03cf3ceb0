SELECT id, account_id, key_hash, prefix, name, role, created_at, expires_at, revoked_at, last_used_at
FROM api_keys
ORDER BY id;
