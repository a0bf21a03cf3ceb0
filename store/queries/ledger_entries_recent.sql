-- Entries posted to :account_id (0: any account), newest first. Used for
-- system accounts, which take a leg of most transactions, and for the whole
-- ledger: a backwards scan of the table finds them soon.
SELECT id, at, txn_id, request_id, account_id, user_account_id, kind, amount, memo,
       detail, expires_at
FROM ledger_entries
WHERE (:account_id = 0 OR account_id = :account_id)
  AND at >= :since
  AND at < :until
  AND id < :before_id
ORDER BY id DESC
LIMIT :limit;
