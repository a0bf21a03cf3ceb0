-- managed_by is deliberately not set: who owns a row does not change with
-- an edit.
UPDATE providers
SET plugin = :plugin,
    base_url = :base_url,
    config = :config,
    enabled = :enabled,
    models = :models,
    region = :region,
    updated_at = :now
WHERE name = :name;
