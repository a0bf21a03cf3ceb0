SELECT at
FROM ledger_entries
WHERE id = :id;
