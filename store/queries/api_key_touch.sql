-- last_used_at only moves forward.
UPDATE api_keys
SET last_used_at = max(coalesce(last_used_at, 0), :last_used_at)
WHERE id = :id;
