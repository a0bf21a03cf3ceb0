-- No row changes when the name is taken: the caller reports it as existing.
INSERT INTO providers (name, plugin, base_url, config, enabled, models, region, managed_by, created_at, updated_at)
VALUES (:name, :plugin, :base_url, :config, :enabled, :models, :region, :managed_by, :now, :now)
ON CONFLICT (name) DO NOTHING;
