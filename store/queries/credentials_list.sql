SELECT id, provider_id, name, secret_ref, ciphertext, weight, enabled, created_at
FROM credentials
WHERE provider_id = :provider_id
ORDER BY id;
