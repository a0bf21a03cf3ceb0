SELECT request_id, account_id, held, captured, released, at
FROM ledger_holds
WHERE request_id = :request_id;
