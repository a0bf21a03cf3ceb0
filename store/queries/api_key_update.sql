-- The fields an operator may change; the version trigger sees every one.
UPDATE api_keys
SET name = :name,
    role = :role,
    expires_at = :expires_at,
    allowed_models = :allowed_models,
    rpm = :rpm,
    tpm = :tpm,
    max_concurrency = :max_concurrency
WHERE id = :id;
