-- Adds a batch's counts to a rollup row. The histograms and percentiles are
-- merged by the caller, which read the row in the same transaction.
INSERT INTO model_call_stats (
  bucket, start, account_id, key_id, provider, model,
  calls, errors, aborted, prompt_tokens, completion_tokens, cached_tokens,
  cache_write_tokens, reasoning_tokens, images, credits,
  ttfb_hist, duration_hist, ttfb_p50_us, ttfb_p95_us, duration_p50_us, duration_p95_us
) VALUES (
  :bucket, :start, :account_id, :key_id, :provider, :model,
  :calls, :errors, :aborted, :prompt_tokens, :completion_tokens, :cached_tokens,
  :cache_write_tokens, :reasoning_tokens, :images, :credits,
  :ttfb_hist, :duration_hist, :ttfb_p50_us, :ttfb_p95_us, :duration_p50_us, :duration_p95_us
)
ON CONFLICT (bucket, start, account_id, key_id, provider, model) DO UPDATE SET
  calls = calls + excluded.calls,
  errors = errors + excluded.errors,
  aborted = aborted + excluded.aborted,
  prompt_tokens = prompt_tokens + excluded.prompt_tokens,
  completion_tokens = completion_tokens + excluded.completion_tokens,
  cached_tokens = cached_tokens + excluded.cached_tokens,
  cache_write_tokens = cache_write_tokens + excluded.cache_write_tokens,
  reasoning_tokens = reasoning_tokens + excluded.reasoning_tokens,
  images = images + excluded.images,
  credits = credits + excluded.credits,
  ttfb_hist = excluded.ttfb_hist,
  duration_hist = excluded.duration_hist,
  ttfb_p50_us = excluded.ttfb_p50_us,
  ttfb_p95_us = excluded.ttfb_p95_us,
  duration_p50_us = excluded.duration_p50_us,
  duration_p95_us = excluded.duration_p95_us;
