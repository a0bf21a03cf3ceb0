-- Posts one leg of a ledger transaction to its account.
UPDATE accounts
SET balance = balance + :amount,
    ledger_seq = ledger_seq + 1
WHERE id = :id
RETURNING balance;
