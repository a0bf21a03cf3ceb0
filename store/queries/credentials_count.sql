SELECT count(*)
FROM credentials
WHERE provider_id = :provider_id;
