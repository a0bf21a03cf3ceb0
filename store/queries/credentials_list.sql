SELECT c.id, c.provider_id, p.name AS provider_name, c.name, c.secret_ref, c.ciphertext, c.hint, c.weight, c.enabled, c.managed_by, c.created_at, c.updated_at
FROM credentials AS c
JOIN providers AS p ON p.id = c.provider_id
WHERE c.provider_id = :provider_id
ORDER BY c.id;
