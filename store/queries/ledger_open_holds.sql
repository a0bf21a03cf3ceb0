-- Unsettled holds with their hold transaction's leg on the user account.
-- CROSS JOIN keeps ledger_holds, which is small, as the outer loop: the
-- planner would otherwise scan the whole ledger.
SELECT h.held, h.captured, h.released,
       e.id, e.at, e.txn_id, e.request_id, e.account_id, e.user_account_id, e.kind, e.amount,
       e.memo, e.detail, e.expires_at
FROM ledger_holds AS h
CROSS JOIN ledger_entries AS e
  ON e.request_id = h.request_id
 AND e.request_id <> ''
 AND e.kind = 'hold'
 AND e.account_id = h.account_id
ORDER BY h.at, h.request_id;
