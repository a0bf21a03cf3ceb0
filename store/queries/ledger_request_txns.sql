-- The legs of every transaction of a request (a handful: at most one
-- transaction of each kind). The request_id <> '' term lets the planner
-- use the partial index.
SELECT txn_id, kind, account_id, user_account_id, amount
FROM ledger_entries
WHERE request_id = :request_id
  AND request_id <> '';
