-- The legs of a request's transaction of one kind. The request_id <> '' term
-- lets the planner use the partial index.
SELECT id, at, txn_id, request_id, account_id, user_account_id, kind, amount, memo,
       detail, expires_at
FROM ledger_entries
WHERE request_id = :request_id
  AND request_id <> ''
  AND kind = :kind
ORDER BY id;
