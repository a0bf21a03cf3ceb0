-- updated_at only moves when something changed, so seeding the same config
-- on every start leaves the row (and the providers version) alone.
INSERT INTO providers (name, plugin, base_url, config, enabled, models, region, managed_by, created_at, updated_at)
VALUES (:name, :plugin, :base_url, :config, :enabled, :models, :region, :managed_by, :now, :now)
ON CONFLICT (name) DO UPDATE SET
  plugin = excluded.plugin,
  base_url = excluded.base_url,
  config = excluded.config,
  enabled = excluded.enabled,
  models = excluded.models,
  region = excluded.region,
  managed_by = excluded.managed_by,
  updated_at = excluded.updated_at
WHERE plugin IS NOT excluded.plugin
   OR base_url IS NOT excluded.base_url
   OR config IS NOT excluded.config
   OR enabled IS NOT excluded.enabled
   OR models IS NOT excluded.models
   OR region IS NOT excluded.region
   OR managed_by IS NOT excluded.managed_by;
