-- Zero and empty parameters match everything. Paging: rows strictly before
-- (:cursor_at, :cursor_id) in the order of the listing.
SELECT id, request_id, created_at, api, key_id, account_id, provider, credential_id,
       model, upstream_model, stream, status, http_status, error_type, error_message,
       prompt_tokens, completion_tokens, cached_tokens, cache_write_tokens,
       reasoning_tokens, images, usage_estimated, ttfb_us, duration_us, attempts, credits
FROM model_calls
WHERE created_at >= :since
  AND created_at <= :cursor_at
  AND (created_at < :cursor_at OR id < :cursor_id)
  AND (:provider = '' OR provider = :provider)
  AND (:model = '' OR model = :model)
  AND (:status = '' OR status = :status)
  AND (:key_id = 0 OR key_id = :key_id)
  AND (:account_id = 0 OR account_id = :account_id)
ORDER BY created_at DESC, id DESC
LIMIT :limit;
