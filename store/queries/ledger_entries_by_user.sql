-- Both legs of every transaction concerning a user account, newest first.
-- Paging: entries strictly before (:before_at, :before_id) in that order;
-- :until is at most :before_at + 1 so the index bounds the scan.
SELECT id, at, txn_id, request_id, account_id, user_account_id, kind, amount, memo,
       detail, expires_at
FROM ledger_entries
WHERE user_account_id = :account_id
  AND at >= :since
  AND at < :until
  AND (at < :before_at OR id < :before_id)
ORDER BY at DESC, id DESC
LIMIT :limit;
