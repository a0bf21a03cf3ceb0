-- Every account with what its entries add up to.
SELECT a.id, a.name, a.kind, a.balance, a.ledger_seq,
       coalesce(e.total, 0) AS total, coalesce(e.n, 0) AS n
FROM accounts AS a
LEFT JOIN (
  SELECT account_id, sum(amount) AS total, count(*) AS n
  FROM ledger_entries
  GROUP BY account_id
) AS e ON e.account_id = a.id
ORDER BY a.id;
