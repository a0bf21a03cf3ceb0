-- Per request: what was held, captured, released and refunded (each the
-- positive leg of its transactions) and charged (the user's leg: a batch of
-- charges shares its counter leg), and how many of each there are.
SELECT request_id,
       sum(CASE WHEN kind = 'hold' AND amount > 0 THEN amount ELSE 0 END) AS held,
       sum(CASE WHEN kind = 'capture' AND amount > 0 THEN amount ELSE 0 END) AS captured,
       sum(CASE WHEN kind = 'release' AND amount > 0 THEN amount ELSE 0 END) AS released,
       sum(CASE WHEN kind = 'charge' AND account_id = user_account_id THEN -amount ELSE 0 END) AS charged,
       sum(CASE WHEN kind = 'refund' AND amount > 0 THEN amount ELSE 0 END) AS refunded,
       count(CASE WHEN kind = 'hold' AND amount > 0 THEN 1 END) AS holds,
       count(CASE WHEN kind = 'capture' AND amount > 0 THEN 1 END) AS captures,
       count(CASE WHEN kind = 'release' AND amount > 0 THEN 1 END) AS releases,
       count(CASE WHEN kind = 'charge' AND account_id = user_account_id THEN 1 END) AS charges,
       min(CASE WHEN kind = 'hold' THEN user_account_id END) AS account_id
FROM ledger_entries
WHERE request_id <> ''
  AND kind IN ('hold', 'capture', 'release', 'charge', 'refund')
GROUP BY request_id;
