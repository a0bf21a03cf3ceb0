-- User accounts only: system accounts are never listed to users.
SELECT id, name, created_at
FROM accounts
WHERE kind = 'user'
ORDER BY id;
