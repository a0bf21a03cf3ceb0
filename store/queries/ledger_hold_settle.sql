-- Records part of a hold as captured or released.
UPDATE ledger_holds
SET captured = captured + :captured,
    released = released + :released
WHERE request_id = :request_id;
