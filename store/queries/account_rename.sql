UPDATE accounts
SET name = :name
WHERE id = :id;
