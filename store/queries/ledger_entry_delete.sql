-- Takes back the first leg of a transaction whose second leg the database
-- refused, in the same write transaction: ledger entries are otherwise
-- never deleted.
DELETE FROM ledger_entries
WHERE id = :id;
