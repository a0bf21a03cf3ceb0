-- Every entry with the kind and name of the account it is posted to.
SELECT e.id, e.txn_id, e.kind, e.amount, e.account_id, e.user_account_id,
       a.kind AS account_kind, a.name AS account_name
FROM ledger_entries AS e
JOIN accounts AS a ON a.id = e.account_id
ORDER BY e.id;
