SELECT id, name, plugin, base_url, config, enabled, created_at, updated_at
FROM providers
WHERE name = :name;
