-- Credentials are matched by (provider_id, name) so that a credential keeps
-- its id, and model_calls.credential_id keeps meaning, across re-seeding.
INSERT INTO credentials (provider_id, name, secret_ref, ciphertext, weight, enabled, created_at)
VALUES (:provider_id, :name, :secret_ref, :ciphertext, :weight, :enabled, :created_at)
ON CONFLICT (provider_id, name) DO UPDATE SET
  secret_ref = excluded.secret_ref,
  ciphertext = excluded.ciphertext,
  weight = excluded.weight,
  enabled = excluded.enabled;
