-- The first revocation time is kept: revoking twice is a no-op.
UPDATE api_keys
SET revoked_at = coalesce(revoked_at, :revoked_at)
WHERE id = :id;
