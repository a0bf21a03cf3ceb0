SELECT attempt, started_at, provider, credential_id, upstream_model,
       status, http_status, error_type, error_message, duration_us
FROM call_attempts
WHERE request_id = :request_id
ORDER BY attempt, id
LIMIT :limit;
