SELECT id, kind, balance
FROM accounts
WHERE id = :id;
