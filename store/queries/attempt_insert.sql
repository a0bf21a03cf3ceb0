INSERT INTO call_attempts (
  request_id, attempt, started_at, provider, credential_id, upstream_model,
  status, http_status, error_type, error_message, duration_us
) VALUES (
  :request_id, :attempt, :started_at, :provider, :credential_id, :upstream_model,
  :status, :http_status, :error_type, :error_message, :duration_us
);
