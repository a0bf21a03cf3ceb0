-- The system accounts (see migrations/0003_ledger.sql): the only accounts
-- with negative IDs.
SELECT id, name, balance
FROM accounts
WHERE id < 0
  AND kind = 'system';
