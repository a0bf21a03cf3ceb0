-- Transactions that are not two legs on two accounts summing to zero with
-- the same kind, request and user account on both legs.
SELECT txn_id, count(*) AS n, sum(amount) AS total,
       count(*) > 1 AND min(account_id) = max(account_id) AS one_account,
       min(kind) <> max(kind) AS kinds,
       min(request_id) <> max(request_id) AS requests,
       min(user_account_id) <> max(user_account_id) AS users
FROM ledger_entries
GROUP BY txn_id
HAVING n <> 2 OR total <> 0 OR one_account OR kinds OR requests OR users;
