-- Records an unsettled hold, or what it has captured and released so far.
-- A hold keeps the time it was first recorded.
INSERT INTO ledger_holds (request_id, account_id, held, captured, released, at)
VALUES (:request_id, :account_id, :held, :captured, :released, :at)
ON CONFLICT (request_id) DO UPDATE
SET captured = excluded.captured,
    released = excluded.released;
