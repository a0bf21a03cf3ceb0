SELECT model, input_per_m, output_per_m, cached_read_per_m, cache_write_per_m, per_image, min_per_call, updated_at
FROM model_rates
ORDER BY model;
