-- A session with its API key, read together so that every use sees the
-- key as it is now (revoked, expired, its role and limits).
SELECT s.csrf AS session_csrf, s.created_at AS session_created_at, s.expires_at AS session_expires_at,
       k.id AS id, k.account_id AS account_id, k.key_hash AS key_hash, k.prefix AS prefix, k.name AS name,
       k.role AS role, k.created_at AS created_at, k.expires_at AS expires_at, k.revoked_at AS revoked_at,
       k.last_used_at AS last_used_at, k.allowed_models AS allowed_models, k.rpm AS rpm, k.tpm AS tpm,
       k.max_concurrency AS max_concurrency
FROM sessions s
JOIN api_keys k ON k.id = s.key_id
WHERE s.token_hash = :token_hash;
