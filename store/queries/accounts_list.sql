SELECT id, name, created_at
FROM accounts
ORDER BY id;
