SELECT id, name, plugin, base_url, config, enabled, created_at, updated_at
FROM providers
ORDER BY name;
