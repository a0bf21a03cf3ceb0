INSERT INTO model_calls (
  request_id, created_at, api, key_id, account_id, provider, credential_id,
  model, upstream_model, stream, status, http_status, error_type, error_message,
  prompt_tokens, completion_tokens, cached_tokens, cache_write_tokens,
  reasoning_tokens, images, usage_estimated, ttfb_us, duration_us, attempts, credits
) VALUES (
  :request_id, :created_at, :api, :key_id, :account_id, :provider, :credential_id,
  :model, :upstream_model, :stream, :status, :http_status, :error_type, :error_message,
  :prompt_tokens, :completion_tokens, :cached_tokens, :cache_write_tokens,
  :reasoning_tokens, :images, :usage_estimated, :ttfb_us, :duration_us, :attempts, :credits
);
