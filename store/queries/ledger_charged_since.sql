-- Captures and charges net of refunds for a user account since a time: the
-- legs of those transactions on system:revenue (+ for a capture or a
-- charge, − for a refund).
SELECT coalesce(sum(amount), 0)
FROM ledger_entries
WHERE user_account_id = :account_id
  AND at >= :since
  AND kind IN ('capture', 'charge', 'refund')
  AND account_id = (SELECT id FROM accounts WHERE name = 'system:revenue');
