SELECT id, name, plugin, base_url, config, enabled, models, region, managed_by, created_at, updated_at
FROM providers
ORDER BY name;
