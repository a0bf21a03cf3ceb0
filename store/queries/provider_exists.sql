SELECT 1
FROM providers
WHERE id = :id;
