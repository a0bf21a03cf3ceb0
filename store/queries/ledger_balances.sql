-- :ids is a JSON array of account IDs.
SELECT id, balance, ledger_seq
FROM accounts
WHERE id IN (SELECT value FROM json_each(:ids));
