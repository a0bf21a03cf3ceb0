-- Rollup rows of one bucket size whose start is in [:since, :until). Zero
-- and empty filters match everything.
SELECT start, account_id, key_id, provider, model,
       calls, errors, aborted, prompt_tokens, completion_tokens, cached_tokens,
       cache_write_tokens, reasoning_tokens, images, credits, ttfb_hist, duration_hist
FROM model_call_stats
WHERE bucket = :bucket
  AND start >= :since
  AND start < :until
  AND (:account_id = 0 OR account_id = :account_id)
  AND (:key_id = 0 OR key_id = :key_id)
  AND (:provider = '' OR provider = :provider)
  AND (:model = '' OR model = :model)
ORDER BY start;
