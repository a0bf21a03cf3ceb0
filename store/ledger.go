package store

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"maps"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"

	"zombiezen.com/go/sqlite"
	"zombiezen.com/go/sqlite/sqlitex"
)

// ErrInsufficientCredits is returned, wrapped (in [LedgerResult].Err), by
// an operation that would take an account's balance below zero.
var ErrInsufficientCredits = errors.New("insufficient credits")

// Ledger operation kinds: the Kind of a [LedgerOp], and of the ledger
// transactions stored.
const (
	// LedgerGrant credits a user account: user +X, system:grants −X.
	LedgerGrant = "grant"
	// LedgerHold reserves X of a user's balance for a request before the
	// call: user −X, system:holds +X. One per request.
	LedgerHold = "hold"
	// LedgerCapture charges X of a request's hold: system:holds −X,
	// system:revenue +X. The user's balance does not move: the hold
	// already took X from it. One per request.
	LedgerCapture = "capture"
	// LedgerRelease gives X of a request's hold back: system:holds −X,
	// user +X. One per request. A request's capture and release together
	// never exceed its hold, and a settled request's add up to it.
	LedgerRelease = "release"
	// LedgerRefund gives back X of what a request was charged:
	// system:revenue −X, user +X, at most the request's capture or
	// charge. One per request.
	LedgerRefund = "refund"
	// LedgerAdjustment corrects a user's balance by X of either sign:
	// user +X, system:adjustments −X.
	LedgerAdjustment = "adjustment"
	// LedgerCharge charges X without a prior hold (the non-strict billing
	// path, or usage beyond a hold): user −X, system:revenue +X, one
	// transaction — except that the call recorder writes the charges of a
	// batch of calls as one transaction per user account: a user leg per
	// request and one system:revenue leg for their sum (request id empty). It needs the balance a hold would. A request is either
	// held or charged, never both: a charge for a request that has a hold
	// is an error (capture the hold instead), and so are a hold, capture or
	// release for a charged request. One per request.
	LedgerCharge = "charge"
)

// The system accounts that take the counter legs of ledger transactions.
// They are accounts of kind 'system': never listed to users, never the
// AccountID of a [LedgerOp]. Names starting with "system:" are reserved.
const (
	SystemGrants      = "system:grants"
	SystemHolds       = "system:holds"
	SystemRevenue     = "system:revenue"
	SystemAdjustments = "system:adjustments"
)

// reservedAccountPrefix starts the names of system accounts.
const reservedAccountPrefix = "system:"

// MaxLedgerAmount bounds the amount of one ledger operation (10^15
// micro-credits, a billion credits), far from the int64 range so that sums
// of amounts cannot overflow in practice.
const MaxLedgerAmount = 1_000_000_000_000_000

// Ledger listing bounds.
const (
	defaultLedgerLimit = 100
	maxLedgerLimit     = 1000
)

// A LedgerOp is one operation for [Store.ApplyLedger].
type LedgerOp struct {
	// Kind is one of LedgerGrant, LedgerHold, LedgerCapture,
	// LedgerRelease, LedgerRefund, LedgerAdjustment and LedgerCharge.
	Kind string
	// AccountID is the user account. It is required for grants, holds,
	// charges and adjustments. Captures, releases and refunds take the
	// account from the request's hold or capture; zero means that one,
	// and any other value must match it.
	AccountID int64
	// Amount is in micro-credits: positive and at most MaxLedgerAmount,
	// except for an adjustment, where it is non-zero and its sign is the
	// direction.
	Amount int64
	// RequestID ties the operation to a model call, and makes it
	// idempotent: a request has at most one transaction of each kind, and
	// applying one again is reported as a duplicate, not applied twice.
	// It must be unique to the request across all accounts: the hub's own
	// request ID, never one a client chose.
	// It is required for holds, captures, releases, refunds and charges;
	// optional for grants and adjustments (without one, each is a new
	// transaction).
	RequestID string
	Memo      string
	// Detail is a JSON value stored with the transaction, typically the
	// line items of a capture. Empty means {}.
	Detail json.RawMessage
	// ExpiresAt is when a grant's credits expire; zero means never. Only
	// grants take one. It is stored, not enforced: nothing sweeps expired
	// grants yet.
	ExpiresAt time.Time
	// Minted says the hub built this operation for a request ID it has
	// just minted, with a Detail that is compact JSON (its own line
	// items): the ledger then skips reading the request's earlier
	// transactions (there are none) and compacting Detail. The schema
	// still refuses a second transaction of a kind for a request (its
	// unique index) and a Detail that is not JSON. The call recorder's
	// charges are minted; anything replayed or from outside is not.
	Minted bool
}

// A LedgerResult is the outcome of one [LedgerOp].
type LedgerResult struct {
	// Applied is set when the operation wrote its transaction.
	Applied bool
	// Duplicate is set when the request already had a transaction of this
	// kind: nothing was written. If that transaction's account or amount
	// differ from the operation's, Err says so (wrapping [ErrExists]).
	Duplicate bool
	// Err is why the operation was not applied: [ErrInsufficientCredits],
	// an invalid operation, an unknown account or request ([ErrNotFound]),
	// an amount beyond what the hold or capture leaves. Nothing was
	// written for it.
	Err error
	// TxnID is the transaction written, or the one found for a duplicate.
	TxnID string
	// Balance is the user account's balance after the operation (or now,
	// for a duplicate or a failure), when the account is known.
	Balance int64
}

// ApplyLedger applies ops in one immediate transaction (group commit: the
// hub's ledger writer batches the operations of many requests) and reports
// each one's outcome, in order. An operation that fails (see
// [LedgerResult].Err) writes nothing and does not affect the others. The
// error is for the batch as a whole (the database failed, ctx ended); then
// nothing was written.
//
// Every transaction is two entries summing to zero and updates the
// balance and ledger_seq of both accounts, in the same database
// transaction. Later operations in ops see the effects of earlier ones.
//
// Each operation is checked in full, against the balances and the
// request's transactions as the batch has left them, before it writes
// anything but its two entries. Accounts and requests are read once per
// batch, and the balances and holds the batch changed are written once,
// at its end.
//
// ApplyLedger is not audited; see [Store.Grant] and [Store.Adjust].
func (s *Store) ApplyLedger(ctx context.Context, ops []LedgerOp) ([]LedgerResult, error) {
	if len(ops) == 0 {
		return nil, nil
	}
	results := make([]LedgerResult, len(ops))
	err := s.writeDurable(ctx, func(conn *sqlite.Conn) error {
		l, err := newLedgerTx(conn)
		if err != nil {
			return err
		}
		for i, op := range ops {
			res, err := l.apply(op)
			if err != nil {
				var oe *opError
				if !errors.As(err, &oe) {
					return fmt.Errorf("op %d (%s): %w", i, op.Kind, err)
				}
				res.Err = oe.err
			}
			results[i] = res
		}
		return l.flush()
	})
	if err != nil {
		return nil, fmt.Errorf("apply ledger: %w", err)
	}
	return results, nil
}

// Grant credits amount (positive) to the user account accountID, with an
// optional expiry (zero: never; stored, not enforced). It is audited as
// "credits.grant" when ctx carries an [Actor], in the same transaction.
// The error is the operation's failure too (LedgerResult.Err).
func (s *Store) Grant(ctx context.Context, accountID, amount int64, memo string, expires time.Time) (LedgerResult, error) {
	op := LedgerOp{Kind: LedgerGrant, AccountID: accountID, Amount: amount, Memo: memo, ExpiresAt: expires}
	res, err := s.adminLedger(ctx, "credits.grant", op)
	if err != nil {
		return res, fmt.Errorf("grant %d to account %d: %w", amount, accountID, err)
	}
	return res, nil
}

// Adjust corrects the balance of the user account accountID by amount
// (non-zero, of either sign); a negative adjustment cannot take the
// balance below zero ([ErrInsufficientCredits]). It is audited as
// "credits.adjust" when ctx carries an [Actor].
func (s *Store) Adjust(ctx context.Context, accountID, amount int64, memo string) (LedgerResult, error) {
	op := LedgerOp{Kind: LedgerAdjustment, AccountID: accountID, Amount: amount, Memo: memo}
	res, err := s.adminLedger(ctx, "credits.adjust", op)
	if err != nil {
		return res, fmt.Errorf("adjust account %d by %d: %w", accountID, amount, err)
	}
	return res, nil
}

// adminLedger applies one operation and audits it, in one transaction.
func (s *Store) adminLedger(ctx context.Context, action string, op LedgerOp) (LedgerResult, error) {
	var res LedgerResult
	err := s.writeDurable(ctx, func(conn *sqlite.Conn) error {
		l, err := newLedgerTx(conn)
		if err != nil {
			return err
		}
		res, err = l.apply(op)
		if err != nil {
			var oe *opError
			if errors.As(err, &oe) {
				res.Err = oe.err
				return oe.err
			}
			return err
		}
		if err := l.flush(); err != nil {
			return err
		}
		detail := map[string]any{
			"amount":  op.Amount,
			"txn_id":  res.TxnID,
			"balance": res.Balance,
		}
		if op.Memo != "" {
			detail["memo"] = op.Memo
		}
		if !op.ExpiresAt.IsZero() {
			detail["expires_at"] = auditTime(op.ExpiresAt)
		}
		return audit(ctx, conn, action, accountTarget(op.AccountID), detail)
	})
	if err != nil {
		// Nothing was committed, whatever apply reported.
		res.Applied, res.TxnID = false, ""
		if res.Err == nil {
			res.Err = err
		}
		return res, err
	}
	return res, nil
}

// writeDurable is [Store.write] with synchronous=FULL for the transaction:
// a committed ledger transaction survives a power loss too (see the
// package documentation). It queues on the same writeSem as write.
func (s *Store) writeDurable(ctx context.Context, f func(conn *sqlite.Conn) error) (err error) {
	conn, put, err := s.takeWriter(ctx)
	if err != nil {
		return err
	}
	defer put()
	if err := sqlitex.ExecuteTransient(conn, "PRAGMA synchronous = FULL;", nil); err != nil {
		return err
	}
	defer func() {
		// Restore the pool's setting even if ctx has ended. Should this
		// fail, the connection only stays slower, never less durable.
		old := conn.SetInterrupt(nil)
		defer conn.SetInterrupt(old)
		if rerr := sqlitex.ExecuteTransient(conn, "PRAGMA synchronous = NORMAL;", nil); rerr != nil && err == nil {
			err = rerr
		}
	}()
	endFn, err := sqlitex.ImmediateTransaction(conn)
	if err != nil {
		return err
	}
	defer endFn(&err)
	return f(conn)
}

// An opError is an operation's own failure, as opposed to the database's:
// the operation writes nothing, and the error is reported in its
// LedgerResult.
type opError struct{ err error }

func (e *opError) Error() string { return e.err.Error() }
func (e *opError) Unwrap() error { return e.err }

func opErrorf(format string, args ...any) error {
	return &opError{fmt.Errorf(format, args...)}
}

// ledgerSQL holds the text of the ledger's statements (queries/ledger_*.sql),
// read once. [sqlitex.ExecuteFS] reads its file again at every call, with
// a 32 KiB copy buffer each time, which cost more than running the
// statement on the request path; [ledgerStmt] finds the prepared statement
// in the connection's cache by the same text, without reading the file.
var ledgerSQL = mustReadQueries(queries, "ledger_*.sql")

func mustReadQueries(fsys fs.FS, pattern string) map[string]string {
	names, err := fs.Glob(fsys, pattern)
	if err != nil {
		panic(err)
	}
	out := make(map[string]string, len(names))
	for _, name := range names {
		b, err := fs.ReadFile(fsys, name)
		if err != nil {
			panic(err)
		}
		out[name] = strings.TrimSpace(string(b))
	}
	return out
}

// ledgerStmt returns conn's prepared statement for the query file name
// (one of queries/ledger_*.sql), cached by the connection, reset and with
// its parameters cleared.
func ledgerStmt(conn *sqlite.Conn, name string) (*sqlite.Stmt, error) {
	query, ok := ledgerSQL[name]
	if !ok {
		return nil, fmt.Errorf("query %s: %w", name, ErrNotFound)
	}
	stmt, err := conn.Prepare(query)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	return stmt, nil
}

// runStmt steps stmt to its end, calling row (if not nil) for each result
// row, and resets it.
func runStmt(stmt *sqlite.Stmt, row func(*sqlite.Stmt) error) (err error) {
	defer func() {
		if rerr := stmt.Reset(); rerr != nil && err == nil {
			err = rerr
		}
	}()
	for {
		hasRow, err := stmt.Step()
		if err != nil || !hasRow {
			return err
		}
		if row != nil {
			if err := row(stmt); err != nil {
				return err
			}
		}
	}
}

// Indexes of the kinds of ledger transactions, for [ledgerRequest].
const (
	kindGrant = iota
	kindHold
	kindCapture
	kindRelease
	kindRefund
	kindAdjustment
	kindCharge
	numKinds
)

// kindIndex returns the index of a transaction kind, or -1.
func kindIndex(kind string) int {
	switch kind {
	case LedgerGrant:
		return kindGrant
	case LedgerHold:
		return kindHold
	case LedgerCapture:
		return kindCapture
	case LedgerRelease:
		return kindRelease
	case LedgerRefund:
		return kindRefund
	case LedgerAdjustment:
		return kindAdjustment
	case LedgerCharge:
		return kindCharge
	}
	return -1
}

// ledgerTx applies the operations of a batch inside one write transaction.
//
// It reads each account, and each request's transactions, once per batch
// and keeps them in Go while it applies the batch: every check (balance,
// bounds of a hold, idempotency) is made in Go, before the operation
// writes anything, and an operation's only writes are its two entries
// ([ledgerTx.insertLegs]), so a failing operation needs no savepoint. The
// accounts' balances and ledger_seq, and the rows of ledger_holds, are
// written once per batch by [ledgerTx.flush]; nothing reads them in
// between, since the batch holds the write lock.
type ledgerTx struct {
	conn *sqlite.Conn
	at   int64 // the entries' time, Unix ms

	// The system accounts' IDs.
	sysGrants, sysHolds, sysRevenue, sysAdjustments int64

	accounts map[int64]*ledgerAccount
	requests map[string]*ledgerRequest
	// posted are the accounts with postings not written yet, and changed
	// the requests whose hold changed, in the order first touched.
	posted  []*ledgerAccount
	changed []*ledgerRequest

	// batchCharges makes the charges of this batch share one transaction
	// per user account: each charge writes its user leg at once, and flush
	// writes one system:revenue leg per user account for their sum. The
	// call recorder sets it: a batch of calls then costs one ledger row
	// per call instead of two.
	batchCharges bool
	chargeTxns   map[int64]*chargeTxn // by user account
	chargeOrder  []*chargeTxn
}

// chargeTxn is a batch's charge transaction for one user account.
type chargeTxn struct {
	id        string
	user      int64
	amount, n int64
}

// chargeTxn returns the batch's charge transaction of the user account.
func (l *ledgerTx) chargeTxn(user int64) *chargeTxn {
	if ct := l.chargeTxns[user]; ct != nil {
		return ct
	}
	if l.chargeTxns == nil {
		l.chargeTxns = make(map[int64]*chargeTxn)
	}
	ct := &chargeTxn{id: "charges-" + rand.Text() + ":" + strconv.FormatInt(user, 10), user: user}
	l.chargeTxns[user] = ct
	l.chargeOrder = append(l.chargeOrder, ct)
	return ct
}

// ledgerAccount is an account as the ledger sees it.
type ledgerAccount struct {
	id      int64
	system  bool
	balance int64 // the balance, this batch's postings included

	// What this batch posted that is not written yet: the sum and the
	// number of the entries; queued says the account is in posted.
	delta, entries int64
	queued         bool
}

// ledgerRef is what the ledger keeps of a request's transaction.
type ledgerRef struct {
	id     string // the txn ID; empty: no such transaction
	user   int64  // the user account concerned
	amount int64  // its amount: the positive leg's, an adjustment's user leg's
}

// ledgerRequest is a request's transactions, at most one of each kind,
// and from them the state of its hold.
type ledgerRequest struct {
	id   string
	txns [numKinds]ledgerRef
	// heldBefore is set when the request's hold was written before the
	// batch (so ledger_holds may have its row).
	heldBefore bool
	changed    bool // the hold changed in this batch: in ledgerTx.changed
}

func (r *ledgerRequest) has(kind int) bool { return r.txns[kind].id != "" }

// left is what the request's hold has not captured nor released.
func (r *ledgerRequest) left() int64 {
	return r.txns[kindHold].amount - r.txns[kindCapture].amount - r.txns[kindRelease].amount
}

func newLedgerTx(conn *sqlite.Conn) (*ledgerTx, error) {
	l := &ledgerTx{
		conn:     conn,
		at:       now().UnixMilli(),
		accounts: make(map[int64]*ledgerAccount, 8),
		requests: make(map[string]*ledgerRequest),
	}
	stmt, err := ledgerStmt(conn, "ledger_system_accounts.sql")
	if err != nil {
		return nil, err
	}
	err = runStmt(stmt, func(stmt *sqlite.Stmt) error {
		a := &ledgerAccount{id: stmt.GetInt64("id"), system: true, balance: stmt.GetInt64("balance")}
		switch stmt.GetText("name") {
		case SystemGrants:
			l.sysGrants = a.id
		case SystemHolds:
			l.sysHolds = a.id
		case SystemRevenue:
			l.sysRevenue = a.id
		case SystemAdjustments:
			l.sysAdjustments = a.id
		default:
			return nil
		}
		l.accounts[a.id] = a
		return nil
	})
	if err != nil {
		return nil, err
	}
	for name, id := range map[string]int64{
		SystemGrants: l.sysGrants, SystemHolds: l.sysHolds, SystemRevenue: l.sysRevenue, SystemAdjustments: l.sysAdjustments,
	} {
		if id == 0 {
			return nil, fmt.Errorf("system account %q missing", name)
		}
	}
	return l, nil
}

// validateOp checks op on its own and returns its detail, compacted.
func validateOp(op LedgerOp) (detail string, err error) {
	needRequest := true
	switch op.Kind {
	case LedgerGrant:
		needRequest = false
		if op.Amount <= 0 {
			return "", fmt.Errorf("grant of %d: amount must be positive", op.Amount)
		}
	case LedgerAdjustment:
		needRequest = false
		if op.Amount == 0 {
			return "", errors.New("adjustment of 0: amount must not be zero")
		}
	case LedgerHold, LedgerCapture, LedgerRelease, LedgerRefund, LedgerCharge:
		if op.Amount <= 0 {
			return "", fmt.Errorf("%s of %d: amount must be positive", op.Kind, op.Amount)
		}
	default:
		return "", fmt.Errorf("unknown ledger operation %q", op.Kind)
	}
	switch {
	case op.Amount > MaxLedgerAmount || op.Amount < -MaxLedgerAmount:
		return "", fmt.Errorf("%s of %d: amount beyond %d", op.Kind, op.Amount, int64(MaxLedgerAmount))
	case needRequest && op.RequestID == "":
		return "", fmt.Errorf("%s: empty request id", op.Kind)
	case !op.ExpiresAt.IsZero() && op.Kind != LedgerGrant:
		return "", fmt.Errorf("%s: only grants expire", op.Kind)
	}
	detail = "{}"
	if op.Minted && len(op.Detail) > 0 {
		return string(op.Detail), nil // the schema checks it is JSON
	}
	if len(op.Detail) > 0 {
		var buf bytes.Buffer
		if err := json.Compact(&buf, op.Detail); err != nil {
			return "", fmt.Errorf("%s: detail is not JSON", op.Kind)
		}
		detail = buf.String()
	}
	return detail, nil
}

// apply applies op. An *opError describes op's failure (and op wrote
// nothing); another error is the database's, and fails the batch.
func (l *ledgerTx) apply(op LedgerOp) (LedgerResult, error) {
	detail, err := validateOp(op)
	if err != nil {
		return LedgerResult{}, &opError{err}
	}
	kind := kindIndex(op.Kind)
	// Idempotency: the transaction this operation would write may exist.
	req := &ledgerRequest{} // none: no transactions
	if op.Minted && op.Kind == LedgerCharge {
		// A new request has no transactions: nothing to look up (the
		// unique index still refuses a duplicate, as an *opError).
		req.id = op.RequestID
	} else if op.RequestID != "" {
		if req, err = l.request(op.RequestID); err != nil {
			return LedgerResult{}, err
		}
		if ref := req.txns[kind]; ref.id != "" {
			return l.duplicate(op, ref)
		}
	}

	t := txn{
		kind:      op.Kind,
		amount:    op.Amount,
		requestID: op.RequestID,
		memo:      op.Memo,
		detail:    detail,
		expiresAt: op.ExpiresAt,
	}
	switch op.Kind {
	case LedgerGrant, LedgerAdjustment:
		acct, err := l.userAccount(op.AccountID)
		if err != nil {
			return LedgerResult{}, err
		}
		if acct.balance+op.Amount < 0 {
			return LedgerResult{Balance: acct.balance}, opErrorf("adjustment of %d on account %d with balance %d: %w",
				op.Amount, acct.id, acct.balance, ErrInsufficientCredits)
		}
		counter := l.sysGrants
		if op.Kind == LedgerAdjustment {
			counter = l.sysAdjustments
		}
		t.user = acct.id
		t.legs = [2]leg{{acct.id, op.Amount}, {counter, -op.Amount}}

	case LedgerHold, LedgerCharge:
		counter := l.sysHolds
		if op.Kind == LedgerHold && req.has(kindCharge) {
			return LedgerResult{}, opErrorf("hold for request %q: the request was charged without a hold: %w",
				op.RequestID, ErrExists)
		}
		if op.Kind == LedgerCharge {
			if req.has(kindHold) {
				return LedgerResult{}, opErrorf("charge for request %q: the request has a hold (capture it instead): %w",
					op.RequestID, ErrExists)
			}
			counter = l.sysRevenue
		}
		acct, err := l.userAccount(op.AccountID)
		if err != nil {
			return LedgerResult{}, err
		}
		if acct.balance < op.Amount {
			return LedgerResult{Balance: acct.balance}, opErrorf("%s of %d for request %q on account %d with balance %d: %w",
				op.Kind, op.Amount, op.RequestID, acct.id, acct.balance, ErrInsufficientCredits)
		}
		t.user = acct.id
		t.legs = [2]leg{{acct.id, -op.Amount}, {counter, op.Amount}}

	case LedgerCapture, LedgerRelease:
		hold := req.txns[kindHold]
		switch {
		case hold.id == "" && req.has(kindCharge):
			return LedgerResult{}, opErrorf("%s of %d for request %q: no hold, the request was charged: %w",
				op.Kind, op.Amount, op.RequestID, ErrNotFound)
		case hold.id == "":
			return LedgerResult{}, opErrorf("%s of %d for request %q: no hold: %w", op.Kind, op.Amount, op.RequestID, ErrNotFound)
		case req.left() == 0:
			return LedgerResult{}, opErrorf("%s of %d for request %q: the hold is already settled", op.Kind, op.Amount, op.RequestID)
		case op.AccountID != 0 && op.AccountID != hold.user:
			return LedgerResult{}, opErrorf("%s for request %q: the hold is on account %d, not %d",
				op.Kind, op.RequestID, hold.user, op.AccountID)
		case op.Amount > req.left():
			return LedgerResult{}, opErrorf("%s of %d for request %q: exceeds the %d left of its hold of %d",
				op.Kind, op.Amount, op.RequestID, req.left(), hold.amount)
		}
		t.user = hold.user
		if op.Kind == LedgerCapture {
			t.legs = [2]leg{{l.sysHolds, -op.Amount}, {l.sysRevenue, op.Amount}}
		} else {
			t.legs = [2]leg{{l.sysHolds, -op.Amount}, {hold.user, op.Amount}}
		}

	case LedgerRefund:
		charged, what := req.txns[kindCapture], LedgerCapture
		if charged.id == "" {
			charged, what = req.txns[kindCharge], LedgerCharge
		}
		switch {
		case charged.id == "":
			return LedgerResult{}, opErrorf("refund of %d for request %q: nothing captured or charged: %w",
				op.Amount, op.RequestID, ErrNotFound)
		case op.AccountID != 0 && op.AccountID != charged.user:
			return LedgerResult{}, opErrorf("refund for request %q: the %s is on account %d, not %d",
				op.RequestID, what, charged.user, op.AccountID)
		case op.Amount > charged.amount:
			return LedgerResult{}, opErrorf("refund of %d for request %q: exceeds its %s of %d",
				op.Amount, op.RequestID, what, charged.amount)
		}
		t.user = charged.user
		t.legs = [2]leg{{l.sysRevenue, -op.Amount}, {charged.user, op.Amount}}

	default:
		panic("unreachable: validateOp accepted kind " + op.Kind)
	}
	return l.post(t, req)
}

// duplicate reports op as already applied: ref is the transaction of
// op's kind that the request already has.
func (l *ledgerTx) duplicate(op LedgerOp, ref ledgerRef) (LedgerResult, error) {
	acct, err := l.account(ref.user)
	if err != nil {
		return LedgerResult{}, err
	}
	res := LedgerResult{Duplicate: true, TxnID: ref.id, Balance: acct.balance}
	if (op.AccountID != 0 && op.AccountID != ref.user) || op.Amount != ref.amount {
		res.Err = fmt.Errorf("%s of %d on account %d for request %q: the request already has a %s of %d on account %d: %w",
			op.Kind, op.Amount, op.AccountID, op.RequestID, op.Kind, ref.amount, ref.user, ErrExists)
	}
	return res, nil
}

// A txn is a ledger transaction to post.
type txn struct {
	kind      string
	amount    int64 // the operation's amount
	requestID string
	user      int64 // the user account concerned
	legs      [2]leg
	memo      string
	detail    string
	expiresAt time.Time
}

type leg struct {
	account, amount int64
}

// post writes t's entries, moves both accounts' balances (in Go, written
// by flush), records t in req, and returns the result with the user
// account's balance after it. req is the request's state (empty for a
// transaction without a request ID).
func (l *ledgerTx) post(t txn, req *ledgerRequest) (LedgerResult, error) {
	var accts [2]*ledgerAccount
	for i, lg := range t.legs {
		a, err := l.account(lg.account)
		if err != nil {
			return LedgerResult{}, err
		}
		if b := a.balance + lg.amount; (lg.amount > 0) != (b > a.balance) {
			return LedgerResult{}, opErrorf("%s of %d: the balance of account %d would overflow", t.kind, t.amount, a.id)
		}
		accts[i] = a
	}
	user, err := l.account(t.user)
	if err != nil {
		return LedgerResult{}, err
	}

	var id string
	legs := 2
	var ct *chargeTxn
	switch {
	case t.kind == LedgerCharge && l.batchCharges:
		// The user leg now, the counter leg with the batch's others.
		ct = l.chargeTxn(t.user)
		id, legs = ct.id, 1
	case t.requestID != "":
		id = t.requestID + ":" + t.kind
	default:
		id = "txn-" + rand.Text()
	}
	if err := l.insertLegs(id, t, legs); err != nil {
		return LedgerResult{}, err
	}
	if ct != nil {
		ct.amount += t.amount
		ct.n++
	}

	for i, a := range accts {
		if !a.queued {
			a.queued = true
			l.posted = append(l.posted, a)
		}
		a.balance += t.legs[i].amount
		a.delta += t.legs[i].amount
		if i < legs {
			a.entries++
		}
	}
	if t.requestID != "" {
		kind := kindIndex(t.kind)
		req.txns[kind] = ledgerRef{id: id, user: t.user, amount: t.amount}
		if (kind == kindHold || kind == kindCapture || kind == kindRelease) && !req.changed {
			req.changed = true
			l.changed = append(l.changed, req)
		}
	}
	return LedgerResult{Applied: true, TxnID: id, Balance: user.balance}, nil
}

// insertLegs writes the first n (1 or 2) entries of t, with the ID id:
// all or, failing, none. A refusal by the schema is an *opError.
func (l *ledgerTx) insertLegs(id string, t txn, n int) error {
	stmt, err := ledgerStmt(l.conn, "ledger_entry_insert.sql")
	if err != nil {
		return err
	}
	for i, lg := range t.legs[:n] {
		stmt.SetInt64(":at", l.at)
		stmt.SetText(":txn_id", id)
		stmt.SetText(":request_id", t.requestID)
		stmt.SetInt64(":account_id", lg.account)
		stmt.SetInt64(":user_account_id", t.user)
		stmt.SetText(":kind", t.kind)
		stmt.SetInt64(":amount", lg.amount)
		stmt.SetText(":memo", t.memo)
		stmt.SetText(":detail", t.detail)
		if t.expiresAt.IsZero() {
			stmt.SetNull(":expires_at")
		} else {
			stmt.SetInt64(":expires_at", t.expiresAt.UnixMilli())
		}
		err := runStmt(stmt, nil)
		if err == nil {
			continue
		}
		if !isRowError(err) {
			return err // the batch fails, and rolls back
		}
		if i == 1 {
			// The first leg is written: take it back. (The legs differ
			// only by account and amount, both checked already, so this
			// does not happen short of a corrupt database.)
			del, derr := ledgerStmt(l.conn, "ledger_entry_delete.sql")
			if derr != nil {
				return derr
			}
			del.SetInt64(":id", l.conn.LastInsertRowID())
			if derr := runStmt(del, nil); derr != nil {
				return derr
			}
		}
		// The schema refused the transaction: the operation's fault, not
		// the batch's.
		return &opError{fmt.Errorf("%s rejected by the database: %w", t.kind, err)}
	}
	return nil
}

// flush writes what the batch changed: the system:revenue legs of its
// charge transactions, the balance and ledger_seq of every account posted
// to, and the rows of ledger_holds of the requests whose hold was made or
// settled.
func (l *ledgerTx) flush() error {
	for _, ct := range l.chargeOrder {
		t := txn{kind: LedgerCharge, amount: ct.amount, user: ct.user, legs: [2]leg{{l.sysRevenue, ct.amount}},
			memo: fmt.Sprintf("%d charges", ct.n), detail: "{}"}
		if err := l.insertLegs(ct.id, t, 1); err != nil {
			return fmt.Errorf("charges of account %d: %w", ct.user, err)
		}
		l.accounts[l.sysRevenue].entries++
	}
	clear(l.chargeTxns)
	l.chargeOrder = l.chargeOrder[:0]
	if len(l.posted) > 0 {
		stmt, err := ledgerStmt(l.conn, "ledger_account_post.sql")
		if err != nil {
			return err
		}
		for _, a := range l.posted {
			stmt.SetInt64(":id", a.id)
			stmt.SetInt64(":amount", a.delta)
			stmt.SetInt64(":entries", a.entries)
			if err := runStmt(stmt, nil); err != nil {
				return fmt.Errorf("post to account %d: %w", a.id, err)
			}
			if l.conn.Changes() != 1 {
				return fmt.Errorf("post to account %d: %w", a.id, ErrNotFound)
			}
			a.delta, a.entries, a.queued = 0, 0, false
		}
		l.posted = l.posted[:0]
	}
	for _, r := range l.changed {
		var stmt *sqlite.Stmt
		var err error
		switch hold := r.txns[kindHold]; {
		case r.left() > 0:
			if stmt, err = ledgerStmt(l.conn, "ledger_hold_put.sql"); err != nil {
				return err
			}
			stmt.SetInt64(":account_id", hold.user)
			stmt.SetInt64(":held", hold.amount)
			stmt.SetInt64(":captured", r.txns[kindCapture].amount)
			stmt.SetInt64(":released", r.txns[kindRelease].amount)
			stmt.SetInt64(":at", l.at)
		case r.heldBefore:
			if stmt, err = ledgerStmt(l.conn, "ledger_hold_delete.sql"); err != nil {
				return err
			}
		default:
			// Held and settled within the batch: never in ledger_holds.
			r.changed = false
			continue
		}
		stmt.SetText(":request_id", r.id)
		if err := runStmt(stmt, nil); err != nil {
			return fmt.Errorf("hold of request %q: %w", r.id, err)
		}
		r.changed = false
	}
	l.changed = l.changed[:0]
	return nil
}

// account returns the account id, read once per batch; an unknown account
// is an *opError.
func (l *ledgerTx) account(id int64) (*ledgerAccount, error) {
	if a := l.accounts[id]; a != nil {
		return a, nil
	}
	a, found, err := readAccount(l.conn, id)
	if err != nil {
		return nil, err
	}
	if !found {
		return nil, opErrorf("account %d: %w", id, ErrNotFound)
	}
	l.accounts[id] = &a
	return &a, nil
}

// userAccount returns the user account id; an unknown or system account
// is an *opError.
func (l *ledgerTx) userAccount(id int64) (*ledgerAccount, error) {
	if id <= 0 {
		return nil, opErrorf("account %d: %w", id, ErrNotFound)
	}
	a, err := l.account(id)
	if err != nil {
		return nil, err
	}
	if a.system {
		return nil, opErrorf("account %d is a system account", id)
	}
	return a, nil
}

// readAccount reads an account's kind and balance.
func readAccount(conn *sqlite.Conn, id int64) (a ledgerAccount, found bool, err error) {
	stmt, err := ledgerStmt(conn, "ledger_account.sql")
	if err != nil {
		return ledgerAccount{}, false, err
	}
	stmt.SetInt64(":id", id)
	err = runStmt(stmt, func(stmt *sqlite.Stmt) error {
		a = ledgerAccount{
			id:      stmt.GetInt64("id"),
			system:  stmt.GetText("kind") == "system",
			balance: stmt.GetInt64("balance"),
		}
		found = true
		return nil
	})
	return a, found, err
}

// request returns the transactions of the request id, read once per
// batch (then kept up to date by post).
func (l *ledgerTx) request(id string) (*ledgerRequest, error) {
	if r := l.requests[id]; r != nil {
		return r, nil
	}
	stmt, err := ledgerStmt(l.conn, "ledger_request_txns.sql")
	if err != nil {
		return nil, err
	}
	stmt.SetText(":request_id", id)
	r := &ledgerRequest{id: id}
	err = runStmt(stmt, func(stmt *sqlite.Stmt) error {
		kind := kindIndex(stmt.GetText("kind"))
		if kind < 0 {
			return nil // refused by the schema
		}
		ref := &r.txns[kind]
		ref.id, ref.user = stmt.GetText("txn_id"), stmt.GetInt64("user_account_id")
		amount := stmt.GetInt64("amount")
		switch {
		case kind == kindAdjustment:
			if stmt.GetInt64("account_id") == ref.user {
				ref.amount = amount
			}
		case kind == kindCharge:
			// The user's leg: a batch's charges share their counter leg.
			if stmt.GetInt64("account_id") == ref.user {
				ref.amount = -amount
			}
		case amount > 0:
			ref.amount = amount
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	r.heldBefore = r.has(kindHold)
	l.requests[id] = r
	return r, nil
}

// openHold is a row of ledger_holds.
type openHold struct {
	requestID                string
	accountID                int64
	held, captured, released int64
	at                       time.Time
}

func scanHold(stmt *sqlite.Stmt) openHold {
	return openHold{
		requestID: stmt.GetText("request_id"),
		accountID: stmt.GetInt64("account_id"),
		held:      stmt.GetInt64("held"),
		captured:  stmt.GetInt64("captured"),
		released:  stmt.GetInt64("released"),
		at:        timeCol(stmt, "at"),
	}
}

// An AccountBalance is an account's balance and its ledger sequence
// number, which grows by one with every ledger transaction touching the
// account, by any process.
type AccountBalance struct {
	Balance int64
	Seq     int64
}

// Balances returns the balances of the accounts with the given ids; ids
// of no account are left out of the map.
func (s *Store) Balances(ctx context.Context, ids []int64) (map[int64]AccountBalance, error) {
	out := make(map[int64]AccountBalance, len(ids))
	if len(ids) == 0 {
		return out, nil
	}
	b, err := json.Marshal(ids)
	if err != nil {
		return nil, fmt.Errorf("balances: %w", err)
	}
	err = s.read(ctx, func(conn *sqlite.Conn) error {
		return sqlitex.ExecuteFS(conn, queries, "ledger_balances.sql", &sqlitex.ExecOptions{
			Named: map[string]any{":ids": string(b)},
			ResultFunc: func(stmt *sqlite.Stmt) error {
				out[stmt.GetInt64("id")] = AccountBalance{
					Balance: stmt.GetInt64("balance"),
					Seq:     stmt.GetInt64("ledger_seq"),
				}
				return nil
			},
		})
	})
	if err != nil {
		return nil, fmt.Errorf("balances: %w", err)
	}
	return out, nil
}

// A LedgerEntry is one leg of a ledger transaction.
type LedgerEntry struct {
	ID        int64
	At        time.Time
	TxnID     string
	RequestID string
	// AccountID is the account the entry is posted to.
	AccountID int64
	// UserAccountID is the user account the transaction concerns: the same
	// on both legs, a capture's included.
	UserAccountID int64
	Kind          string
	// Amount is signed: positive credits AccountID.
	Amount    int64
	Memo      string
	Detail    json.RawMessage
	ExpiresAt time.Time // grants only; zero: never
}

// A LedgerFilter selects ledger entries for [Store.LedgerEntries]. Zero
// fields match everything.
type LedgerFilter struct {
	// AccountID selects the transactions concerning an account: for a user
	// account, both legs of each of its transactions, captures included
	// (tell them apart by LedgerEntry.AccountID); for a system account,
	// its own legs.
	AccountID int64
	RequestID string
	// Since and Until bound At: Since <= At < Until. Zero means unbounded.
	Since, Until time.Time
	// BeforeID pages backwards: only entries listed after the entry with
	// that ID. Pass the last ID of a page to get the next one.
	BeforeID int64
	// Limit is the most entries returned. Zero or negative means 100;
	// more than 1000 means 1000.
	Limit int
}

// LedgerEntries returns the entries matching f, newest first.
func (s *Store) LedgerEntries(ctx context.Context, f LedgerFilter) ([]LedgerEntry, error) {
	limit := f.Limit
	switch {
	case limit <= 0:
		limit = defaultLedgerLimit
	case limit > maxLedgerLimit:
		limit = maxLedgerLimit
	}
	since, until := int64(math.MinInt64), int64(math.MaxInt64)
	if !f.Since.IsZero() {
		since = f.Since.UnixMilli()
	}
	if !f.Until.IsZero() {
		until = f.Until.UnixMilli()
	}
	var out []LedgerEntry
	err := s.read(ctx, func(conn *sqlite.Conn) error {
		args := map[string]any{
			":account_id": f.AccountID,
			":since":      since,
			":until":      until,
			":before_id":  int64(math.MaxInt64),
			":limit":      limit,
		}
		if f.BeforeID != 0 {
			args[":before_id"] = f.BeforeID
		}
		query := "ledger_entries_recent.sql"
		switch {
		case f.RequestID != "":
			query = "ledger_entries_by_request.sql"
			args[":request_id"] = f.RequestID
		case f.AccountID != 0:
			a, found, err := readAccount(conn, f.AccountID)
			switch {
			case err != nil:
				return err
			case !found:
				return nil // no such account: no entries
			}
			if a.system {
				break
			}
			query = "ledger_entries_by_user.sql"
			args[":before_at"] = int64(math.MaxInt64)
			if f.BeforeID != 0 {
				at, found, err := entryAt(conn, f.BeforeID)
				if err != nil {
					return err
				}
				if !found {
					return nil
				}
				args[":before_at"] = at
				args[":until"] = min(until, at+1)
			}
		}
		return sqlitex.ExecuteFS(conn, queries, query, &sqlitex.ExecOptions{
			Named: args,
			ResultFunc: func(stmt *sqlite.Stmt) error {
				out = append(out, scanLedgerEntry(stmt))
				return nil
			},
		})
	})
	if err != nil {
		return nil, fmt.Errorf("ledger entries: %w", err)
	}
	return out, nil
}

func entryAt(conn *sqlite.Conn, id int64) (at int64, found bool, err error) {
	err = sqlitex.ExecuteFS(conn, queries, "ledger_entry_at.sql", &sqlitex.ExecOptions{
		Named: map[string]any{":id": id},
		ResultFunc: func(stmt *sqlite.Stmt) error {
			at, found = stmt.ColumnInt64(0), true
			return nil
		},
	})
	return at, found, err
}

func scanLedgerEntry(stmt *sqlite.Stmt) LedgerEntry {
	return LedgerEntry{
		ID:            stmt.GetInt64("id"),
		At:            timeCol(stmt, "at"),
		TxnID:         stmt.GetText("txn_id"),
		RequestID:     stmt.GetText("request_id"),
		AccountID:     stmt.GetInt64("account_id"),
		UserAccountID: stmt.GetInt64("user_account_id"),
		Kind:          stmt.GetText("kind"),
		Amount:        stmt.GetInt64("amount"),
		Memo:          stmt.GetText("memo"),
		Detail:        json.RawMessage(stmt.GetText("detail")),
		ExpiresAt:     timeCol(stmt, "expires_at"),
	}
}

// ChargedSince returns what the user account accountID was charged since
// the given time: its captures net of its refunds.
func (s *Store) ChargedSince(ctx context.Context, accountID int64, since time.Time) (int64, error) {
	var sum int64
	err := s.read(ctx, func(conn *sqlite.Conn) error {
		return sqlitex.ExecuteFS(conn, queries, "ledger_charged_since.sql", &sqlitex.ExecOptions{
			Named: map[string]any{":account_id": accountID, ":since": since.UnixMilli()},
			ResultFunc: func(stmt *sqlite.Stmt) error {
				sum = stmt.ColumnInt64(0)
				return nil
			},
		})
	})
	if err != nil {
		return 0, fmt.Errorf("charged since: %w", err)
	}
	return sum, nil
}

// An OpenHold is a hold not yet settled: its request's capture and
// release do not add up to it yet. After a crash, the hub settles the open
// holds of the requests it lost (typically by releasing what is left).
type OpenHold struct {
	// LedgerEntry is the hold's leg on the user account: its Amount is
	// minus the amount held.
	LedgerEntry
	Held, Captured, Released int64
}

// Left is what is still held: neither captured nor released.
func (h OpenHold) Left() int64 { return h.Held - h.Captured - h.Released }

// OpenHolds returns the unsettled holds, oldest first.
func (s *Store) OpenHolds(ctx context.Context) ([]OpenHold, error) {
	var out []OpenHold
	err := s.read(ctx, func(conn *sqlite.Conn) error {
		return sqlitex.ExecuteFS(conn, queries, "ledger_open_holds.sql", &sqlitex.ExecOptions{
			ResultFunc: func(stmt *sqlite.Stmt) error {
				out = append(out, OpenHold{
					LedgerEntry: scanLedgerEntry(stmt),
					Held:        stmt.GetInt64("held"),
					Captured:    stmt.GetInt64("captured"),
					Released:    stmt.GetInt64("released"),
				})
				return nil
			},
		})
	})
	if err != nil {
		return nil, fmt.Errorf("open holds: %w", err)
	}
	return out, nil
}

// A VerifyReport is what [Store.VerifyLedger] checked and found.
type VerifyReport struct {
	Accounts     int // accounts checked, system accounts included
	Entries      int // ledger entries checked
	Transactions int // ledger transactions checked
	OpenHolds    int // holds not settled yet: not problems
	// Problems describes every inconsistency found (at most 1000, then a
	// count of the rest); empty means the ledger is consistent.
	Problems []string
}

// maxVerifyProblems bounds VerifyReport.Problems.
const maxVerifyProblems = 1000

// ledgerLegs says, for each kind of transaction, which accounts its legs
// go to ("user" or a system account's name) and with which sign; 0 means
// either sign (adjustments).
var ledgerLegs = map[string]map[string]int{
	LedgerGrant:      {"user": +1, SystemGrants: -1},
	LedgerHold:       {"user": -1, SystemHolds: +1},
	LedgerCapture:    {SystemHolds: -1, SystemRevenue: +1},
	LedgerRelease:    {SystemHolds: -1, "user": +1},
	LedgerRefund:     {SystemRevenue: -1, "user": +1},
	LedgerAdjustment: {"user": 0, SystemAdjustments: 0},
	LedgerCharge:     {"user": -1, SystemRevenue: +1},
}

// VerifyLedger checks the ledger against itself, on one consistent
// snapshot, and reports every inconsistency it finds:
//   - every account's balance is the sum of its entries, and its
//     ledger_seq their number; no user account's balance is negative;
//   - every transaction is two entries on two accounts summing to zero,
//     with one kind, request and user account, its legs on the accounts
//     and with the signs its kind prescribes;
//   - per request: at most one hold, capture, release and charge; a
//     request is either held or charged, never both; captured plus
//     released never exceeds held, and equals it once both a capture and a
//     release exist; captures and releases have a hold; refunds do not
//     exceed the capture or charge; the unsettled holds are exactly the
//     rows of ledger_holds, with the same amounts.
//
// An unsettled hold is not a problem (a request may be in flight); it is
// counted in OpenHolds.
func (s *Store) VerifyLedger(ctx context.Context) (VerifyReport, error) {
	var r VerifyReport
	err := s.read(ctx, func(conn *sqlite.Conn) (err error) {
		// One read transaction: one snapshot for every query.
		if err := sqlitex.ExecuteTransient(conn, "BEGIN;", nil); err != nil {
			return err
		}
		defer func() {
			old := conn.SetInterrupt(nil)
			defer conn.SetInterrupt(old)
			if rerr := sqlitex.ExecuteTransient(conn, "ROLLBACK;", nil); rerr != nil && err == nil {
				err = rerr
			}
		}()
		return verifyLedger(conn, &r)
	})
	if err != nil {
		return VerifyReport{}, fmt.Errorf("verify ledger: %w", err)
	}
	return r, nil
}

func verifyLedger(conn *sqlite.Conn, r *VerifyReport) error {
	dropped := 0
	problem := func(format string, args ...any) {
		if len(r.Problems) < maxVerifyProblems {
			r.Problems = append(r.Problems, fmt.Sprintf(format, args...))
		} else {
			dropped++
		}
	}
	defer func() {
		if dropped > 0 {
			r.Problems = append(r.Problems, fmt.Sprintf("… and %d more problems", dropped))
		}
	}()

	userAccounts := make(map[int64]bool)
	err := sqlitex.ExecuteFS(conn, queries, "ledger_verify_accounts.sql", &sqlitex.ExecOptions{
		ResultFunc: func(stmt *sqlite.Stmt) error {
			r.Accounts++
			id, name := stmt.GetInt64("id"), stmt.GetText("name")
			balance, total := stmt.GetInt64("balance"), stmt.GetInt64("total")
			seq, n := stmt.GetInt64("ledger_seq"), stmt.GetInt64("n")
			user := stmt.GetText("kind") == "user"
			userAccounts[id] = user
			if balance != total {
				problem("account %d (%s): balance %d, but its entries add up to %d", id, name, balance, total)
			}
			if seq != n {
				problem("account %d (%s): ledger_seq %d, but it has %d entries", id, name, seq, n)
			}
			if user && balance < 0 {
				problem("account %d (%s): negative balance %d", id, name, balance)
			}
			return nil
		},
	})
	if err != nil {
		return err
	}

	err = sqlitex.ExecuteFS(conn, queries, "ledger_verify_entries.sql", &sqlitex.ExecOptions{
		ResultFunc: func(stmt *sqlite.Stmt) error {
			r.Entries++
			id, txnID, kind := stmt.GetInt64("id"), stmt.GetText("txn_id"), stmt.GetText("kind")
			amount, account, user := stmt.GetInt64("amount"), stmt.GetInt64("account_id"), stmt.GetInt64("user_account_id")
			role := "user"
			if stmt.GetText("account_kind") != "user" {
				role = stmt.GetText("account_name")
			}
			if !userAccounts[user] {
				problem("entry %d (txn %s): user account %d is not a user account", id, txnID, user)
			}
			sign, ok := ledgerLegs[kind][role]
			switch {
			case !ok:
				problem("entry %d (txn %s): a %s posted to account %d (%s), which a %s does not touch", id, txnID, kind, account, role, kind)
			case sign > 0 && amount < 0, sign < 0 && amount > 0:
				problem("entry %d (txn %s): a %s of %d on account %d (%s) has the wrong sign", id, txnID, kind, amount, account, role)
			}
			if role == "user" && account != user {
				problem("entry %d (txn %s): posted to user account %d, but concerns user account %d", id, txnID, account, user)
			}
			return nil
		},
	})
	if err != nil {
		return err
	}

	err = sqlitex.ExecuteFS(conn, queries, "ledger_verify_txn_count.sql", &sqlitex.ExecOptions{
		ResultFunc: func(stmt *sqlite.Stmt) error {
			r.Transactions = int(stmt.ColumnInt64(0))
			return nil
		},
	})
	if err != nil {
		return err
	}
	err = sqlitex.ExecuteFS(conn, queries, "ledger_verify_txns.sql", &sqlitex.ExecOptions{
		ResultFunc: func(stmt *sqlite.Stmt) error {
			msg := fmt.Sprintf("txn %s: %d entries summing to %d", stmt.GetText("txn_id"), stmt.GetInt64("n"), stmt.GetInt64("total"))
			for _, c := range []struct{ col, what string }{
				{"one_account", "all on one account"},
				{"kinds", "of different kinds"},
				{"requests", "of different requests"},
				{"users", "for different user accounts"},
			} {
				if stmt.GetBool(c.col) {
					msg += ", " + c.what
				}
			}
			if stmt.GetBool("charges") {
				problem("%s (want one system:revenue leg and one user leg per request, summing to 0)", msg)
			} else {
				problem("%s (want 2 entries on 2 accounts summing to 0)", msg)
			}
			return nil
		},
	})
	if err != nil {
		return err
	}

	holds := make(map[string]openHold)
	err = sqlitex.ExecuteFS(conn, queries, "ledger_verify_holds.sql", &sqlitex.ExecOptions{
		ResultFunc: func(stmt *sqlite.Stmt) error {
			h := scanHold(stmt)
			holds[h.requestID] = h
			return nil
		},
	})
	if err != nil {
		return err
	}
	err = sqlitex.ExecuteFS(conn, queries, "ledger_verify_requests.sql", &sqlitex.ExecOptions{
		ResultFunc: func(stmt *sqlite.Stmt) error {
			req := stmt.GetText("request_id")
			held, captured := stmt.GetInt64("held"), stmt.GetInt64("captured")
			released, refunded := stmt.GetInt64("released"), stmt.GetInt64("refunded")
			charged, nCharges := stmt.GetInt64("charged"), stmt.GetInt64("charges")
			nHolds, nCaptures, nReleases := stmt.GetInt64("holds"), stmt.GetInt64("captures"), stmt.GetInt64("releases")
			if nHolds > 1 || nCaptures > 1 || nReleases > 1 || nCharges > 1 {
				problem("request %q: %d holds, %d captures, %d releases and %d charges (at most one of each)",
					req, nHolds, nCaptures, nReleases, nCharges)
			}
			if nHolds == 0 && nCaptures+nReleases > 0 {
				problem("request %q: captured %d and released %d without a hold", req, captured, released)
			}
			if nCharges > 0 && nHolds+nCaptures+nReleases > 0 {
				problem("request %q: charged %d, and also held %d, captured %d and released %d (a charge is not a hold)",
					req, charged, held, captured, released)
			}
			settled := captured + released
			switch {
			case settled > held:
				problem("request %q: captured %d and released %d, more than its hold of %d", req, captured, released, held)
			case nCaptures > 0 && nReleases > 0 && settled != held:
				problem("request %q: captured %d and released %d, which do not settle its hold of %d", req, captured, released, held)
			}
			if what := LedgerCapture; refunded > captured+charged {
				if nCharges > 0 {
					what = LedgerCharge
				}
				problem("request %q: refunded %d, more than its %s of %d", req, refunded, what, captured+charged)
			}
			h, tracked := holds[req]
			delete(holds, req)
			open := nHolds > 0 && settled < held
			switch {
			case open && !tracked:
				problem("request %q: hold of %d unsettled (captured %d, released %d) but not in ledger_holds", req, held, captured, released)
			case !open && tracked:
				problem("request %q: settled, but still in ledger_holds", req)
			case open && (h.held != held || h.captured != captured || h.released != released || h.accountID != stmt.GetInt64("account_id")):
				problem("request %q: ledger_holds has held %d, captured %d, released %d on account %d; the entries say %d, %d, %d on account %d",
					req, h.held, h.captured, h.released, h.accountID, held, captured, released, stmt.GetInt64("account_id"))
			}
			if open {
				r.OpenHolds++
			}
			return nil
		},
	})
	if err != nil {
		return err
	}
	for _, req := range slices.Sorted(maps.Keys(holds)) {
		problem("request %q: in ledger_holds, but it has no hold", req)
	}
	return nil
}
