DELETE FROM ledger_holds
WHERE request_id = :request_id;
