SELECT ttfb_hist, duration_hist
FROM model_call_stats
WHERE bucket = :bucket
  AND start = :start
  AND account_id = :account_id
  AND key_id = :key_id
  AND provider = :provider
  AND model = :model;
