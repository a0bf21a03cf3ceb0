-- Posts a batch's entries on an account: :amount is their sum, :entries
-- their number.
UPDATE accounts
SET balance = balance + :amount,
    ledger_seq = ledger_seq + :entries
WHERE id = :id;
