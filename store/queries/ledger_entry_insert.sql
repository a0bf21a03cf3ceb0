-- One leg of a ledger transaction. The legs are inserted one statement
-- each: a statement writing both would need a statement journal (a 64 KiB
-- buffer allocated per statement) to undo the first if the second failed.
INSERT INTO ledger_entries (at, txn_id, request_id, account_id, user_account_id, kind,
                            amount, memo, detail, expires_at)
VALUES (:at, :txn_id, :request_id, :account_id, :user_account_id, :kind,
        :amount, :memo, :detail, :expires_at);
