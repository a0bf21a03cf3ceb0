-- Credentials are unique by (provider_id, name); no row is returned when the
-- name is taken, which the caller reports as existing.
INSERT INTO credentials (provider_id, name, secret_ref, ciphertext, hint, weight, enabled, managed_by, created_at, updated_at)
VALUES (:provider_id, :name, :secret_ref, :ciphertext, :hint, :weight, :enabled, :managed_by, :now, :now)
ON CONFLICT (provider_id, name) DO NOTHING
RETURNING id;
