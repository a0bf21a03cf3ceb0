SELECT id, name, created_at
FROM accounts
WHERE id = :id;
