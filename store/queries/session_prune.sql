-- Drops the sessions that have expired, and those of :key_id beyond its
-- :keep newest.
DELETE FROM sessions
WHERE expires_at <= :now
   OR (key_id = :key_id AND token_hash NOT IN (
         SELECT token_hash FROM sessions WHERE key_id = :key_id
         ORDER BY created_at DESC, token_hash LIMIT :keep));
