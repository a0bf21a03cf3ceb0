-- The ledger's counter accounts, by name (see migrations/0003_ledger.sql).
SELECT id, name
FROM accounts
WHERE name IN ('system:grants', 'system:holds', 'system:revenue', 'system:adjustments')
  AND kind = 'system';
