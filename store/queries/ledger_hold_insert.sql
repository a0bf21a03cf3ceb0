INSERT INTO ledger_holds (request_id, account_id, held, at)
VALUES (:request_id, :account_id, :held, :at);
