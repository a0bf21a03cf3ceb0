INSERT INTO ledger_entries (at, txn_id, request_id, account_id, user_account_id, kind,
                            amount, memo, detail, expires_at)
VALUES (:at, :txn_id, :request_id, :account_id, :user_account_id, :kind,
        :amount, :memo, :detail, :expires_at);
