SELECT count(DISTINCT txn_id)
FROM ledger_entries;
