-- Transactions of the wrong shape. Every transaction sums to zero, is of one
-- kind and concerns one user account. A charge transaction is one leg on
-- system:revenue and one leg per charged request on the user account
-- (the call recorder writes a batch's charges of one account as one
-- transaction; a charge of its own is the case of one request); any other
-- transaction is two legs on two accounts for one request.
SELECT txn_id, count(*) AS n, sum(amount) AS total,
       count(*) > 1 AND min(account_id) = max(account_id) AS one_account,
       min(kind) <> max(kind) AS kinds,
       min(request_id) <> max(request_id) AS requests,
       min(user_account_id) <> max(user_account_id) AS users,
       min(kind) = 'charge' AS charges
FROM ledger_entries
GROUP BY txn_id
HAVING total <> 0 OR kinds OR users
    OR CASE WHEN min(kind) = 'charge' THEN
         count(*) < 2
         OR sum(account_id = (SELECT id FROM accounts WHERE name = 'system:revenue')) <> 1
         OR sum(account_id = user_account_id) <> count(*) - 1
         OR count(DISTINCT CASE WHEN account_id = user_account_id THEN request_id END) <> count(*) - 1
         OR sum(account_id = user_account_id AND request_id = '') > 0
       ELSE n <> 2 OR one_account OR requests END;
