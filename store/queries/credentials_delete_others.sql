-- :names is a JSON array of the credential names to keep.
DELETE FROM credentials
WHERE provider_id = :provider_id
  AND name NOT IN (SELECT value FROM json_each(:names));
