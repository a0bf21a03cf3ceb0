INSERT INTO model_rates (model, input_per_m, output_per_m, cached_read_per_m, cache_write_per_m,
                         per_image, min_per_call, updated_at)
VALUES (:model, :input_per_m, :output_per_m, :cached_read_per_m, :cache_write_per_m,
        :per_image, :min_per_call, :now)
ON CONFLICT (model) DO UPDATE SET
  input_per_m = excluded.input_per_m,
  output_per_m = excluded.output_per_m,
  cached_read_per_m = excluded.cached_read_per_m,
  cache_write_per_m = excluded.cache_write_per_m,
  per_image = excluded.per_image,
  min_per_call = excluded.min_per_call,
  updated_at = excluded.updated_at;
