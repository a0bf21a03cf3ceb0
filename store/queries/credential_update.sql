-- name and provider_id never change: the ciphertext is bound to them.
UPDATE credentials
SET secret_ref = :secret_ref,
    ciphertext = :ciphertext,
    hint = :hint,
    weight = :weight,
    enabled = :enabled,
    updated_at = :now
WHERE id = :id;
