-- updated_at only moves when something changed, so seeding the same config
-- on every start leaves the row alone.
INSERT INTO providers (name, plugin, base_url, config, enabled, created_at, updated_at)
VALUES (:name, :plugin, :base_url, :config, :enabled, :now, :now)
ON CONFLICT (name) DO UPDATE SET
  plugin = excluded.plugin,
  base_url = excluded.base_url,
  config = excluded.config,
  enabled = excluded.enabled,
  updated_at = excluded.updated_at
WHERE plugin IS NOT excluded.plugin
   OR base_url IS NOT excluded.base_url
   OR config IS NOT excluded.config
   OR enabled IS NOT excluded.enabled;
