-- The entries of a request's transactions; :account_id (0: any) matches the
-- account posted to or the user account concerned.
SELECT id, at, txn_id, request_id, account_id, user_account_id, kind, amount, memo,
       detail, expires_at
FROM ledger_entries
WHERE request_id = :request_id
  AND request_id <> ''
  AND (:account_id = 0 OR account_id = :account_id OR user_account_id = :account_id)
  AND at >= :since
  AND at < :until
  AND id < :before_id
ORDER BY id DESC
LIMIT :limit;
