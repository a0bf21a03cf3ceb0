package store

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"zombiezen.com/go/sqlite"
	"zombiezen.com/go/sqlite/sqlitex"
)

// execRaw runs statements on a connection of s's pool, bypassing the
// store's methods: the tests corrupt the ledger with it.
func (s *Store) execRaw(t testing.TB, sql string) {
	t.Helper()
	withConn(t, s, func(conn *sqlite.Conn) {
		if err := sqlitex.ExecuteScript(conn, sql, nil); err != nil {
			t.Fatalf("%s: %v", sql, err)
		}
	})
}

// ledgerAccounts is a store with one user account, and the IDs of the
// system accounts.
type ledgerFixture struct {
	s                                  *Store
	path                               string
	user                               int64
	grants, holds, revenue, adjustment int64
}

func newLedgerFixture(t testing.TB) *ledgerFixture {
	t.Helper()
	s, path := openTest(t, Options{})
	ctx := context.Background()
	a, err := s.EnsureAccount(ctx, "acme")
	if err != nil {
		t.Fatal(err)
	}
	f := &ledgerFixture{s: s, path: path, user: a.ID}
	for name, id := range map[string]*int64{
		SystemGrants: &f.grants, SystemHolds: &f.holds, SystemRevenue: &f.revenue, SystemAdjustments: &f.adjustment,
	} {
		a, err := s.AccountByName(ctx, name)
		if err != nil {
			t.Fatal(err)
		}
		*id = a.ID
	}
	return f
}

// apply applies ops and fails the test on a batch error.
func (f *ledgerFixture) apply(t testing.TB, ops ...LedgerOp) []LedgerResult {
	t.Helper()
	res, err := f.s.ApplyLedger(context.Background(), ops)
	if err != nil {
		t.Fatal(err)
	}
	if len(res) != len(ops) {
		t.Fatalf("%d results for %d ops", len(res), len(ops))
	}
	return res
}

// mustApply applies op and fails the test unless it is applied.
func (f *ledgerFixture) mustApply(t testing.TB, op LedgerOp) LedgerResult {
	t.Helper()
	r := f.apply(t, op)[0]
	if !r.Applied || r.Err != nil {
		t.Fatalf("%+v: %+v", op, r)
	}
	return r
}

// balances returns the balances of the user and system accounts.
func (f *ledgerFixture) balances(t testing.TB) [5]int64 {
	t.Helper()
	ids := []int64{f.user, f.grants, f.holds, f.revenue, f.adjustment}
	m, err := f.s.Balances(context.Background(), ids)
	if err != nil {
		t.Fatal(err)
	}
	var out [5]int64
	for i, id := range ids {
		out[i] = m[id].Balance
	}
	return out
}

// verifyClean fails the test unless VerifyLedger finds no problem.
func verifyClean(t testing.TB, s *Store) VerifyReport {
	t.Helper()
	r, err := s.VerifyLedger(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if len(r.Problems) > 0 {
		t.Fatalf("VerifyLedger found problems:\n%s", strings.Join(r.Problems, "\n"))
	}
	return r
}

func TestLedgerKinds(t *testing.T) {
	f := newLedgerFixture(t)
	// Each step applies one operation; want is the balances after it of
	// [user, grants, holds, revenue, adjustments].
	steps := []struct {
		name string
		op   LedgerOp
		want [5]int64
		legs map[int64]int64 // account → amount of the step's transaction
	}{
		{"grant", LedgerOp{Kind: LedgerGrant, AccountID: f.user, Amount: 1000, Memo: "welcome"},
			[5]int64{1000, -1000, 0, 0, 0}, map[int64]int64{f.user: 1000, f.grants: -1000}},
		{"hold", LedgerOp{Kind: LedgerHold, AccountID: f.user, Amount: 300, RequestID: "r1"},
			[5]int64{700, -1000, 300, 0, 0}, map[int64]int64{f.user: -300, f.holds: 300}},
		{"capture", LedgerOp{Kind: LedgerCapture, Amount: 200, RequestID: "r1", Detail: json.RawMessage(`[{"item":"input", "amount": 200}]`)},
			[5]int64{700, -1000, 100, 200, 0}, map[int64]int64{f.holds: -200, f.revenue: 200}},
		{"release", LedgerOp{Kind: LedgerRelease, AccountID: f.user, Amount: 100, RequestID: "r1"},
			[5]int64{800, -1000, 0, 200, 0}, map[int64]int64{f.holds: -100, f.user: 100}},
		{"refund", LedgerOp{Kind: LedgerRefund, Amount: 50, RequestID: "r1"},
			[5]int64{850, -1000, 0, 150, 0}, map[int64]int64{f.revenue: -50, f.user: 50}},
		{"negative adjustment", LedgerOp{Kind: LedgerAdjustment, AccountID: f.user, Amount: -70, Memo: "oops"},
			[5]int64{780, -1000, 0, 150, 70}, map[int64]int64{f.user: -70, f.adjustment: 70}},
		{"positive adjustment", LedgerOp{Kind: LedgerAdjustment, AccountID: f.user, Amount: 30},
			[5]int64{810, -1000, 0, 150, 40}, map[int64]int64{f.user: 30, f.adjustment: -30}},
		{"charge", LedgerOp{Kind: LedgerCharge, AccountID: f.user, Amount: 40, RequestID: "r2", Memo: "over"},
			[5]int64{770, -1000, 0, 190, 40}, map[int64]int64{f.user: -40, f.revenue: 40}},
		{"expiring grant", LedgerOp{Kind: LedgerGrant, AccountID: f.user, Amount: 5, ExpiresAt: time.UnixMilli(2_000_000_000_000)},
			[5]int64{775, -1005, 0, 190, 40}, map[int64]int64{f.user: 5, f.grants: -5}},
	}
	for _, st := range steps {
		r := f.mustApply(t, st.op)
		if r.Balance != st.want[0] {
			t.Errorf("%s: result balance %d, want %d", st.name, r.Balance, st.want[0])
		}
		if got := f.balances(t); got != st.want {
			t.Errorf("%s: balances %v, want %v", st.name, got, st.want)
		}
		es, err := f.s.LedgerEntries(context.Background(), LedgerFilter{AccountID: f.user, Limit: 2})
		if err != nil {
			t.Fatal(err)
		}
		got := make(map[int64]int64)
		for _, e := range es {
			if e.TxnID != r.TxnID {
				t.Errorf("%s: newest entry of txn %s, want %s", st.name, e.TxnID, r.TxnID)
			}
			if e.Kind != st.op.Kind || e.UserAccountID != f.user || e.RequestID != st.op.RequestID || e.Memo != st.op.Memo {
				t.Errorf("%s: entry %+v", st.name, e)
			}
			if !e.ExpiresAt.Equal(st.op.ExpiresAt) {
				t.Errorf("%s: ExpiresAt %v, want %v", st.name, e.ExpiresAt, st.op.ExpiresAt)
			}
			got[e.AccountID] = e.Amount
		}
		if !reflect.DeepEqual(got, st.legs) {
			t.Errorf("%s: legs %v, want %v", st.name, got, st.legs)
		}
		if st.op.RequestID != "" && r.TxnID != st.op.RequestID+":"+es[0].Kind {
			t.Errorf("%s: TxnID %q", st.name, r.TxnID)
		}
		if st.op.RequestID == "" && !strings.HasPrefix(r.TxnID, "txn-") {
			t.Errorf("%s: TxnID %q", st.name, r.TxnID)
		}
	}
	// The capture's detail is stored compacted.
	es, err := f.s.LedgerEntries(context.Background(), LedgerFilter{RequestID: "r1"})
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range es {
		want := "{}"
		if e.Kind == LedgerCapture {
			want = `[{"item":"input","amount":200}]`
		}
		if string(e.Detail) != want {
			t.Errorf("%s detail %s, want %s", e.Kind, e.Detail, want)
		}
	}
	r := verifyClean(t, f.s)
	// 9 operations, 9 transactions.
	if r.Transactions != 9 || r.Entries != 18 || r.OpenHolds != 0 || r.Accounts != 5 {
		t.Errorf("report %+v", r)
	}
}

func TestLedgerIdempotency(t *testing.T) {
	ctx := context.Background()
	f := newLedgerFixture(t)
	f.mustApply(t, LedgerOp{Kind: LedgerGrant, AccountID: f.user, Amount: 1000})
	hold := LedgerOp{Kind: LedgerHold, AccountID: f.user, Amount: 100, RequestID: "r1"}
	first := f.mustApply(t, hold)
	entries := queryInt(t, f.s, "SELECT count(*) FROM ledger_entries;")
	seq := queryInt(t, f.s, fmt.Sprintf("SELECT ledger_seq FROM accounts WHERE id = %d;", f.user))

	for _, tt := range []struct {
		name     string
		op       LedgerOp
		conflict bool
	}{
		{"same hold", hold, false},
		{"same hold without account", LedgerOp{Kind: LedgerHold, Amount: 100, RequestID: "r1"}, false},
		{"other amount", LedgerOp{Kind: LedgerHold, AccountID: f.user, Amount: 999, RequestID: "r1"}, true},
		{"other account", LedgerOp{Kind: LedgerHold, AccountID: f.user + 100, Amount: 100, RequestID: "r1"}, true},
	} {
		t.Run(tt.name, func(t *testing.T) {
			r := f.apply(t, tt.op)[0]
			if r.Applied || !r.Duplicate || r.TxnID != first.TxnID || r.Balance != 900 {
				t.Errorf("result %+v", r)
			}
			if tt.conflict != (r.Err != nil) || (tt.conflict && !errors.Is(r.Err, ErrExists)) {
				t.Errorf("Err = %v, want a conflict: %v", r.Err, tt.conflict)
			}
		})
	}
	if n := queryInt(t, f.s, "SELECT count(*) FROM ledger_entries;"); n != entries {
		t.Errorf("duplicates wrote %d entries", n-entries)
	}
	if n := queryInt(t, f.s, fmt.Sprintf("SELECT ledger_seq FROM accounts WHERE id = %d;", f.user)); n != seq {
		t.Errorf("duplicates moved ledger_seq from %d to %d", seq, n)
	}

	// A duplicate within one batch, and different kinds of one request.
	res := f.apply(t,
		LedgerOp{Kind: LedgerCapture, Amount: 60, RequestID: "r1"},
		LedgerOp{Kind: LedgerCapture, Amount: 60, RequestID: "r1"},
		LedgerOp{Kind: LedgerRelease, Amount: 40, RequestID: "r1"},
	)
	if !res[0].Applied || !res[1].Duplicate || res[1].Err != nil || !res[2].Applied {
		t.Errorf("batch results %+v", res)
	}

	// Grants without a request ID are each new; with one, idempotent.
	g1 := f.mustApply(t, LedgerOp{Kind: LedgerGrant, AccountID: f.user, Amount: 5})
	g2 := f.mustApply(t, LedgerOp{Kind: LedgerGrant, AccountID: f.user, Amount: 5})
	if g1.TxnID == g2.TxnID {
		t.Errorf("two grants share txn %s", g1.TxnID)
	}
	withReq := LedgerOp{Kind: LedgerGrant, AccountID: f.user, Amount: 7, RequestID: "promo-1"}
	f.mustApply(t, withReq)
	if r := f.apply(t, withReq)[0]; !r.Duplicate || r.Applied || r.Err != nil {
		t.Errorf("second grant with a request id: %+v", r)
	}
	// A charge applied twice, in one batch and again in another.
	charge := LedgerOp{Kind: LedgerCharge, AccountID: f.user, Amount: 3, RequestID: "r2"}
	res = f.apply(t, charge, charge)
	if !res[0].Applied || res[0].Err != nil || !res[1].Duplicate || res[1].Applied || res[1].Err != nil ||
		res[1].TxnID != res[0].TxnID || res[1].Balance != res[0].Balance {
		t.Errorf("a charge twice in a batch: %+v", res)
	}
	if r := f.apply(t, charge)[0]; !r.Duplicate || r.Applied || r.Err != nil || r.TxnID != "r2:charge" {
		t.Errorf("second charge: %+v", r)
	}
	b, err := f.s.Balances(ctx, []int64{f.user})
	if err != nil {
		t.Fatal(err)
	}
	if want := int64(1000 - 60 + 5 + 5 + 7 - 3); b[f.user].Balance != want {
		t.Errorf("balance %d, want %d", b[f.user].Balance, want)
	}
	verifyClean(t, f.s)
}

func TestLedgerInsufficientCredits(t *testing.T) {
	f := newLedgerFixture(t)
	f.mustApply(t, LedgerOp{Kind: LedgerGrant, AccountID: f.user, Amount: 100})
	before := f.balances(t)
	entries := queryInt(t, f.s, "SELECT count(*) FROM ledger_entries;")
	seqs := queryInt(t, f.s, "SELECT sum(ledger_seq) FROM accounts;")
	for _, op := range []LedgerOp{
		{Kind: LedgerHold, AccountID: f.user, Amount: 101, RequestID: "big"},
		{Kind: LedgerCharge, AccountID: f.user, Amount: 101, RequestID: "big-charge"},
		{Kind: LedgerAdjustment, AccountID: f.user, Amount: -101},
	} {
		t.Run(op.Kind, func(t *testing.T) {
			r := f.apply(t, op)[0]
			if !errors.Is(r.Err, ErrInsufficientCredits) || r.Applied || r.Duplicate || r.Balance != 100 {
				t.Errorf("result %+v", r)
			}
		})
	}
	if got := f.balances(t); got != before {
		t.Errorf("balances %v, want %v", got, before)
	}
	if n := queryInt(t, f.s, "SELECT count(*) FROM ledger_entries;"); n != entries {
		t.Errorf("failed operations wrote %d entries", n-entries)
	}
	if n := queryInt(t, f.s, "SELECT sum(ledger_seq) FROM accounts;"); n != seqs {
		t.Errorf("failed operations moved ledger_seq")
	}
	if n := queryInt(t, f.s, "SELECT count(*) FROM ledger_holds;"); n != 0 {
		t.Errorf("a failed hold left %d ledger_holds rows", n)
	}
	// The whole balance can be held.
	f.mustApply(t, LedgerOp{Kind: LedgerHold, AccountID: f.user, Amount: 100, RequestID: "all"})
	verifyClean(t, f.s)
}

func TestLedgerBatchWithFailingOps(t *testing.T) {
	f := newLedgerFixture(t)
	res := f.apply(t,
		LedgerOp{Kind: LedgerGrant, AccountID: f.user, Amount: 100},                                     // 0 ok
		LedgerOp{Kind: LedgerHold, AccountID: f.user, Amount: 500, RequestID: "big"},                    // 1 insufficient
		LedgerOp{Kind: LedgerHold, AccountID: f.user, Amount: 60, RequestID: "r1"},                      // 2 ok: sees 0
		LedgerOp{Kind: LedgerCapture, Amount: 10, RequestID: "nohold"},                                  // 3 no hold
		LedgerOp{Kind: LedgerHold, AccountID: f.user, Amount: 0, RequestID: "zero"},                     // 4 bad amount
		LedgerOp{Kind: "steal", AccountID: f.user, Amount: 1},                                           // 5 bad kind
		LedgerOp{Kind: LedgerGrant, AccountID: f.grants, Amount: 1},                                     // 6 system account
		LedgerOp{Kind: LedgerGrant, AccountID: 9999, Amount: 1},                                         // 7 no account
		LedgerOp{Kind: LedgerHold, AccountID: f.user, Amount: 1},                                        // 8 no request id
		LedgerOp{Kind: LedgerHold, AccountID: f.user, Amount: 1, RequestID: "x", ExpiresAt: time.Now()}, // 9 expiry
		LedgerOp{Kind: LedgerGrant, AccountID: f.user, Amount: 1, Detail: json.RawMessage(`{`)},         // 10 bad detail
		LedgerOp{Kind: LedgerGrant, AccountID: f.user, Amount: MaxLedgerAmount + 1},                     // 11 too big
		LedgerOp{Kind: LedgerCapture, Amount: 60, RequestID: "r1"},                                      // 12 ok: sees 2
	)
	wantOK := map[int]bool{0: true, 2: true, 12: true}
	for i, r := range res {
		if wantOK[i] != r.Applied || wantOK[i] != (r.Err == nil) {
			t.Errorf("op %d: %+v", i, r)
		}
	}
	if !errors.Is(res[1].Err, ErrInsufficientCredits) {
		t.Errorf("op 1: %v", res[1].Err)
	}
	for _, i := range []int{3, 7} {
		if !errors.Is(res[i].Err, ErrNotFound) {
			t.Errorf("op %d: %v, want ErrNotFound", i, res[i].Err)
		}
	}
	if got, want := f.balances(t), [5]int64{40, -100, 0, 60, 0}; got != want {
		t.Errorf("balances %v, want %v", got, want)
	}
	if n := queryInt(t, f.s, "SELECT count(*) FROM ledger_entries;"); n != 6 {
		t.Errorf("%d entries, want 6", n)
	}
	verifyClean(t, f.s)

	// A batch error (ctx ended) writes nothing.
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := f.s.ApplyLedger(ctx, []LedgerOp{{Kind: LedgerGrant, AccountID: f.user, Amount: 1}}); err == nil {
		t.Error("ApplyLedger with an ended context succeeded")
	}
	if got := f.balances(t); got[0] != 40 {
		t.Errorf("balance %d after a failed batch", got[0])
	}
}

func TestLedgerSettlementBounds(t *testing.T) {
	f := newLedgerFixture(t)
	other, err := f.s.EnsureAccount(context.Background(), "globex")
	if err != nil {
		t.Fatal(err)
	}
	f.mustApply(t, LedgerOp{Kind: LedgerGrant, AccountID: f.user, Amount: 1000})
	f.mustApply(t, LedgerOp{Kind: LedgerHold, AccountID: f.user, Amount: 100, RequestID: "r1"})

	steps := []struct {
		name    string
		op      LedgerOp
		wantErr string // empty: applied
		is      error
	}{
		{"capture beyond hold", LedgerOp{Kind: LedgerCapture, Amount: 150, RequestID: "r1"}, "exceeds the 100 left", nil},
		{"capture on wrong account", LedgerOp{Kind: LedgerCapture, AccountID: other.ID, Amount: 10, RequestID: "r1"}, "not", nil},
		{"capture without hold", LedgerOp{Kind: LedgerCapture, Amount: 10, RequestID: "none"}, "no hold", ErrNotFound},
		{"release without hold", LedgerOp{Kind: LedgerRelease, Amount: 10, RequestID: "none"}, "no hold", ErrNotFound},
		{"refund before capture", LedgerOp{Kind: LedgerRefund, Amount: 10, RequestID: "r1"}, "nothing captured", ErrNotFound},
		{"capture part", LedgerOp{Kind: LedgerCapture, Amount: 60, RequestID: "r1"}, "", nil},
		{"release beyond the rest", LedgerOp{Kind: LedgerRelease, Amount: 50, RequestID: "r1"}, "exceeds the 40 left", nil},
		{"release the rest", LedgerOp{Kind: LedgerRelease, Amount: 40, RequestID: "r1"}, "", nil},
		{"refund beyond capture", LedgerOp{Kind: LedgerRefund, Amount: 61, RequestID: "r1"}, "exceeds its capture of 60", nil},
		{"refund on wrong account", LedgerOp{Kind: LedgerRefund, AccountID: other.ID, Amount: 60, RequestID: "r1"}, "not", nil},
		{"refund", LedgerOp{Kind: LedgerRefund, Amount: 60, RequestID: "r1"}, "", nil},
		// Settled by release alone, then by capture alone.
		{"hold r2", LedgerOp{Kind: LedgerHold, AccountID: f.user, Amount: 30, RequestID: "r2"}, "", nil},
		{"release all of r2", LedgerOp{Kind: LedgerRelease, Amount: 30, RequestID: "r2"}, "", nil},
		{"capture after settled", LedgerOp{Kind: LedgerCapture, Amount: 1, RequestID: "r2"}, "already settled", nil},
		{"hold r3", LedgerOp{Kind: LedgerHold, AccountID: f.user, Amount: 30, RequestID: "r3"}, "", nil},
		{"capture all of r3", LedgerOp{Kind: LedgerCapture, Amount: 30, RequestID: "r3"}, "", nil},
		{"release after settled", LedgerOp{Kind: LedgerRelease, Amount: 1, RequestID: "r3"}, "already settled", nil},
		{"charge after capture", LedgerOp{Kind: LedgerCharge, AccountID: f.user, Amount: 1, RequestID: "r3"}, "has a hold", ErrExists},
		{"hold r4", LedgerOp{Kind: LedgerHold, AccountID: f.user, Amount: 5, RequestID: "r4"}, "", nil},
		{"charge with a hold", LedgerOp{Kind: LedgerCharge, AccountID: f.user, Amount: 5, RequestID: "r4"}, "has a hold", ErrExists},
		{"release r4", LedgerOp{Kind: LedgerRelease, Amount: 5, RequestID: "r4"}, "", nil},
		// A charged request has no hold to settle, and takes no hold.
		{"refund before charge", LedgerOp{Kind: LedgerRefund, Amount: 1, RequestID: "r5"}, "nothing captured or charged", ErrNotFound},
		{"charge r5", LedgerOp{Kind: LedgerCharge, AccountID: f.user, Amount: 20, RequestID: "r5"}, "", nil},
		{"hold after charge", LedgerOp{Kind: LedgerHold, AccountID: f.user, Amount: 20, RequestID: "r5"}, "was charged", ErrExists},
		{"capture after charge", LedgerOp{Kind: LedgerCapture, Amount: 20, RequestID: "r5"}, "no hold, the request was charged", ErrNotFound},
		{"release after charge", LedgerOp{Kind: LedgerRelease, Amount: 20, RequestID: "r5"}, "no hold, the request was charged", ErrNotFound},
		{"refund beyond charge", LedgerOp{Kind: LedgerRefund, Amount: 21, RequestID: "r5"}, "exceeds its charge of 20", nil},
		{"refund charge on wrong account", LedgerOp{Kind: LedgerRefund, AccountID: other.ID, Amount: 5, RequestID: "r5"}, "the charge is on account", nil},
		{"refund part of charge", LedgerOp{Kind: LedgerRefund, Amount: 5, RequestID: "r5"}, "", nil},
		{"charge beyond balance", LedgerOp{Kind: LedgerCharge, AccountID: f.user, Amount: 1000, RequestID: "r6"}, "insufficient", ErrInsufficientCredits},
	}
	for _, st := range steps {
		r := f.apply(t, st.op)[0]
		switch {
		case st.wantErr == "" && (!r.Applied || r.Err != nil):
			t.Errorf("%s: %+v", st.name, r)
		case st.wantErr != "" && (r.Applied || r.Err == nil || !strings.Contains(r.Err.Error(), st.wantErr)):
			t.Errorf("%s: %+v, want error containing %q", st.name, r, st.wantErr)
		case st.is != nil && !errors.Is(r.Err, st.is):
			t.Errorf("%s: %v, want %v", st.name, r.Err, st.is)
		}
	}
	if got, want := f.balances(t), [5]int64{1000 - 30 - 20 + 5, -1000, 0, 30 + 20 - 5, 0}; got != want {
		t.Errorf("balances %v, want %v", got, want)
	}
	r := verifyClean(t, f.s)
	if r.OpenHolds != 0 {
		t.Errorf("%d open holds", r.OpenHolds)
	}
}

func TestOpenHolds(t *testing.T) {
	ctx := context.Background()
	f := newLedgerFixture(t)
	f.mustApply(t, LedgerOp{Kind: LedgerGrant, AccountID: f.user, Amount: 1000})
	f.apply(t,
		LedgerOp{Kind: LedgerHold, AccountID: f.user, Amount: 100, RequestID: "a", Memo: "estimate"},
		LedgerOp{Kind: LedgerHold, AccountID: f.user, Amount: 200, RequestID: "b"},
		LedgerOp{Kind: LedgerHold, AccountID: f.user, Amount: 300, RequestID: "c"},
		LedgerOp{Kind: LedgerCapture, Amount: 70, RequestID: "a"},
		LedgerOp{Kind: LedgerCapture, Amount: 300, RequestID: "c"},
	)
	holds, err := f.s.OpenHolds(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, h := range holds {
		got = append(got, fmt.Sprintf("%s acct=%v amount=%d held=%d captured=%d released=%d left=%d memo=%q",
			h.RequestID, h.AccountID == f.user, h.Amount, h.Held, h.Captured, h.Released, h.Left(), h.Memo))
	}
	want := []string{
		`a acct=true amount=-100 held=100 captured=70 released=0 left=30 memo="estimate"`,
		`b acct=true amount=-200 held=200 captured=0 released=0 left=200 memo=""`,
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("OpenHolds:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	if r := verifyClean(t, f.s); r.OpenHolds != 2 {
		t.Errorf("VerifyLedger counted %d open holds", r.OpenHolds)
	}
	// Recovery: release what is left.
	for _, h := range holds {
		f.mustApply(t, LedgerOp{Kind: LedgerRelease, Amount: h.Left(), RequestID: h.RequestID})
	}
	if holds, err := f.s.OpenHolds(ctx); err != nil || len(holds) != 0 {
		t.Errorf("OpenHolds after recovery = %+v, %v", holds, err)
	}
	if got := f.balances(t); got[0] != 1000-70-300 {
		t.Errorf("balance %d", got[0])
	}
	verifyClean(t, f.s)
}

func TestChargedSince(t *testing.T) {
	ctx := context.Background()
	f := newLedgerFixture(t)
	other, err := f.s.EnsureAccount(ctx, "globex")
	if err != nil {
		t.Fatal(err)
	}
	start := time.Now().Add(-time.Second)
	f.apply(t,
		LedgerOp{Kind: LedgerGrant, AccountID: f.user, Amount: 1000},
		LedgerOp{Kind: LedgerGrant, AccountID: other.ID, Amount: 1000},
		LedgerOp{Kind: LedgerHold, AccountID: f.user, Amount: 100, RequestID: "a"},
		LedgerOp{Kind: LedgerCapture, Amount: 80, RequestID: "a"},
		LedgerOp{Kind: LedgerRelease, Amount: 20, RequestID: "a"},
		LedgerOp{Kind: LedgerCharge, AccountID: f.user, Amount: 15, RequestID: "b"},
		LedgerOp{Kind: LedgerRefund, Amount: 5, RequestID: "b"},
		LedgerOp{Kind: LedgerCharge, AccountID: other.ID, Amount: 500, RequestID: "c"},
		LedgerOp{Kind: LedgerHold, AccountID: f.user, Amount: 50, RequestID: "open"},
	)
	for _, tt := range []struct {
		account int64
		since   time.Time
		want    int64
	}{
		{f.user, start, 80 + 15 - 5},
		{other.ID, start, 500},
		{f.user, time.Now().Add(time.Hour), 0},
		{9999, start, 0},
	} {
		got, err := f.s.ChargedSince(ctx, tt.account, tt.since)
		if err != nil || got != tt.want {
			t.Errorf("ChargedSince(%d, %v) = %d, %v; want %d", tt.account, tt.since, got, err, tt.want)
		}
	}
	// Entries older than since do not count.
	f.s.execRaw(t, "UPDATE ledger_entries SET at = at - 86400000 WHERE request_id = 'a';")
	if got, err := f.s.ChargedSince(ctx, f.user, start); err != nil || got != 10 {
		t.Errorf("ChargedSince without yesterday's = %d, %v; want 10", got, err)
	}
}

func TestLedgerEntriesFilter(t *testing.T) {
	ctx := context.Background()
	f := newLedgerFixture(t)
	other, err := f.s.EnsureAccount(ctx, "globex")
	if err != nil {
		t.Fatal(err)
	}
	f.apply(t,
		LedgerOp{Kind: LedgerGrant, AccountID: f.user, Amount: 1000},                 // txn 1
		LedgerOp{Kind: LedgerGrant, AccountID: other.ID, Amount: 1000},               // txn 2
		LedgerOp{Kind: LedgerHold, AccountID: f.user, Amount: 100, RequestID: "a"},   // txn 3
		LedgerOp{Kind: LedgerCapture, Amount: 100, RequestID: "a"},                   // txn 4
		LedgerOp{Kind: LedgerHold, AccountID: other.ID, Amount: 10, RequestID: "b"},  // txn 5
		LedgerOp{Kind: LedgerAdjustment, AccountID: f.user, Amount: 1, Memo: "last"}, // txn 6
	)
	txns := func(es []LedgerEntry) string {
		var b []string
		for _, e := range es {
			b = append(b, fmt.Sprintf("%s:%d", e.Kind, e.Amount))
		}
		return strings.Join(b, " ")
	}
	for _, tt := range []struct {
		name   string
		filter LedgerFilter
		want   string
	}{
		{"user: both legs, captures included", LedgerFilter{AccountID: f.user},
			"adjustment:-1 adjustment:1 capture:100 capture:-100 hold:100 hold:-100 grant:-1000 grant:1000"},
		{"other user", LedgerFilter{AccountID: other.ID}, "hold:10 hold:-10 grant:-1000 grant:1000"},
		{"system account: its own legs", LedgerFilter{AccountID: f.holds}, "hold:10 capture:-100 hold:100"},
		{"request", LedgerFilter{RequestID: "a"}, "capture:100 capture:-100 hold:100 hold:-100"},
		{"request and account", LedgerFilter{RequestID: "a", AccountID: f.revenue}, "capture:100"},
		{"request of another user", LedgerFilter{RequestID: "a", AccountID: other.ID}, ""},
		{"all, limited", LedgerFilter{Limit: 3}, "adjustment:-1 adjustment:1 hold:10"},
		{"future", LedgerFilter{Since: time.Now().Add(time.Hour)}, ""},
		{"past", LedgerFilter{Until: time.Now().Add(-time.Hour)}, ""},
		{"unknown account", LedgerFilter{AccountID: 9999}, ""},
	} {
		t.Run(tt.name, func(t *testing.T) {
			es, err := f.s.LedgerEntries(ctx, tt.filter)
			if err != nil {
				t.Fatal(err)
			}
			if got := txns(es); got != tt.want {
				t.Errorf("got  %s\nwant %s", got, tt.want)
			}
		})
	}

	// Paging with BeforeID, for a user and for the whole ledger, visits
	// every entry once.
	for _, filter := range []LedgerFilter{{AccountID: f.user}, {}} {
		all, err := f.s.LedgerEntries(ctx, filter)
		if err != nil {
			t.Fatal(err)
		}
		var paged []LedgerEntry
		page := filter
		page.Limit = 3
		for {
			es, err := f.s.LedgerEntries(ctx, page)
			if err != nil {
				t.Fatal(err)
			}
			if len(es) == 0 {
				break
			}
			paged = append(paged, es...)
			page.BeforeID = es[len(es)-1].ID
		}
		if !reflect.DeepEqual(paged, all) {
			t.Errorf("%+v: paged\n%s\nwant\n%s", filter, txns(paged), txns(all))
		}
	}
}

func TestBalances(t *testing.T) {
	ctx := context.Background()
	f := newLedgerFixture(t)
	other, err := f.s.EnsureAccount(ctx, "globex")
	if err != nil {
		t.Fatal(err)
	}
	f.mustApply(t, LedgerOp{Kind: LedgerGrant, AccountID: f.user, Amount: 10})
	b, err := f.s.Balances(ctx, []int64{f.user, other.ID, 9999})
	if err != nil {
		t.Fatal(err)
	}
	want := map[int64]AccountBalance{f.user: {10, 1}, other.ID: {0, 0}}
	if !reflect.DeepEqual(b, want) {
		t.Errorf("Balances = %v, want %v", b, want)
	}
	if b, err := f.s.Balances(ctx, nil); err != nil || len(b) != 0 {
		t.Errorf("Balances(nil) = %v, %v", b, err)
	}

	// Another process (another Store on the same file) grants credits: the
	// balance and the sequence number of that account move, the others not.
	s2, err := Open(ctx, f.path, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer s2.Close()
	if _, err := s2.Grant(ctx, other.ID, 5, "from the CLI", time.Time{}); err != nil {
		t.Fatal(err)
	}
	after, err := f.s.Balances(ctx, []int64{f.user, other.ID})
	if err != nil {
		t.Fatal(err)
	}
	if after[f.user] != b[f.user] || after[other.ID] != (AccountBalance{Balance: b[other.ID].Balance + 5, Seq: b[other.ID].Seq + 1}) {
		t.Errorf("balances after another process's grant: %v (before %v)", after, b)
	}
}

func TestGrantAndAdjust(t *testing.T) {
	f := newLedgerFixture(t)
	ctx := actorCtx()
	expires := time.UnixMilli(1_900_000_000_000)
	r, err := f.s.Grant(ctx, f.user, 1000, "welcome", expires)
	if err != nil || !r.Applied || r.Balance != 1000 {
		t.Fatalf("Grant = %+v, %v", r, err)
	}
	r, err = f.s.Adjust(ctx, f.user, -300, "correction")
	if err != nil || !r.Applied || r.Balance != 700 {
		t.Fatalf("Adjust = %+v, %v", r, err)
	}
	n := len(auditLog(t, f.s))
	for _, tt := range []struct {
		name string
		do   func() (LedgerResult, error)
		is   error
	}{
		{"grant zero", func() (LedgerResult, error) { return f.s.Grant(ctx, f.user, 0, "", time.Time{}) }, nil},
		{"grant negative", func() (LedgerResult, error) { return f.s.Grant(ctx, f.user, -1, "", time.Time{}) }, nil},
		{"grant unknown account", func() (LedgerResult, error) { return f.s.Grant(ctx, 9999, 1, "", time.Time{}) }, ErrNotFound},
		{"grant system account", func() (LedgerResult, error) { return f.s.Grant(ctx, f.revenue, 1, "", time.Time{}) }, nil},
		{"adjust zero", func() (LedgerResult, error) { return f.s.Adjust(ctx, f.user, 0, "") }, nil},
		{"adjust below zero", func() (LedgerResult, error) { return f.s.Adjust(ctx, f.user, -701, "") }, ErrInsufficientCredits},
		{"empty actor", func() (LedgerResult, error) {
			return f.s.Grant(WithActor(context.Background(), Actor{}), f.user, 1, "", time.Time{})
		}, nil},
	} {
		t.Run(tt.name, func(t *testing.T) {
			r, err := tt.do()
			if err == nil || r.Applied || r.Err == nil || (tt.is != nil && !errors.Is(err, tt.is)) {
				t.Errorf("= %+v, %v; want an error (%v)", r, err, tt.is)
			}
		})
	}
	if got := f.balances(t); got[0] != 700 {
		t.Errorf("failed changes moved the balance to %d", got[0])
	}
	es := auditLog(t, f.s)
	if len(es) != n {
		t.Errorf("failed changes were audited: %s", summary(es[n:]))
	}
	var got []string
	for _, e := range es {
		if strings.HasPrefix(e.Action, "credits.") {
			got = append(got, fmt.Sprintf("%s %s %s %s", e.Actor, e.Action, e.Target, e.Detail))
		}
	}
	grantTxn, adjustTxn := "", ""
	entries, err := f.s.LedgerEntries(context.Background(), LedgerFilter{AccountID: f.user})
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		switch e.Kind {
		case LedgerGrant:
			grantTxn = e.TxnID
		case LedgerAdjustment:
			adjustTxn = e.TxnID
		}
	}
	want := []string{
		fmt.Sprintf(`%s credits.grant account:%d {"amount":1000,"balance":1000,"expires_at":"2030-03-17T17:46:40Z","memo":"welcome","txn_id":%q}`,
			testActor.Name, f.user, grantTxn),
		fmt.Sprintf(`%s credits.adjust account:%d {"amount":-300,"balance":700,"memo":"correction","txn_id":%q}`,
			testActor.Name, f.user, adjustTxn),
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("audit:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}

	// Without an actor, nothing is audited.
	if _, err := f.s.Grant(context.Background(), f.user, 1, "", time.Time{}); err != nil {
		t.Fatal(err)
	}
	if len(auditLog(t, f.s)) != n {
		t.Error("a grant without an actor was audited")
	}
	verifyClean(t, f.s)
}

func TestSystemAccounts(t *testing.T) {
	ctx := context.Background()
	s, _ := openTest(t, Options{})
	a, err := s.EnsureAccount(ctx, "acme")
	if err != nil {
		t.Fatal(err)
	}
	if a.ID != 1 {
		t.Errorf("first user account has ID %d, want 1", a.ID)
	}
	list, err := s.ListAccounts(ctx)
	if err != nil || len(list) != 1 || list[0] != a {
		t.Errorf("ListAccounts = %+v, %v; want only acme", list, err)
	}
	for i, name := range []string{SystemGrants, SystemHolds, SystemRevenue, SystemAdjustments} {
		sys, err := s.AccountByName(ctx, name)
		if err != nil || sys.ID != int64(-1-i) {
			t.Errorf("AccountByName(%s) = %+v, %v", name, sys, err)
		}
	}
	for _, tt := range []struct {
		name string
		do   func() error
	}{
		{"create reserved", func() error { _, err := s.CreateAccount(ctx, "system:mine"); return err }},
		{"ensure system", func() error { _, err := s.EnsureAccount(ctx, SystemRevenue); return err }},
		{"rename to reserved", func() error { _, err := s.RenameAccount(ctx, a.ID, "system:x"); return err }},
		{"rename system", func() error { _, err := s.RenameAccount(ctx, -3, "mine"); return err }},
	} {
		if err := tt.do(); err == nil {
			t.Errorf("%s succeeded", tt.name)
		}
	}
}

// TestVerifyLedgerFindsCorruption corrupts a consistent ledger in one way
// per case, behind the store's back, and checks that VerifyLedger says
// what is wrong.
func TestVerifyLedgerFindsCorruption(t *testing.T) {
	// The ledger: acme (account 1) was granted 1000; request r1 held 300,
	// captured 200 and released 100; request "open" holds 50. acme has 4
	// entries and 750 credits, system:revenue 200, system:holds 50.
	for _, tt := range []struct {
		name    string
		corrupt string
		want    []string
	}{
		{"balance", "UPDATE accounts SET balance = balance + 1 WHERE name = 'acme';",
			[]string{"(acme): balance 751, but its entries add up to 750"}},
		{"ledger_seq", "UPDATE accounts SET ledger_seq = 1 WHERE name = 'acme';",
			[]string{"(acme): ledger_seq 1, but it has 4 entries"}},
		{"negative balance",
			"PRAGMA ignore_check_constraints = ON; UPDATE accounts SET balance = -5 WHERE name = 'acme'; PRAGMA ignore_check_constraints = OFF;",
			[]string{"(acme): negative balance -5", "(acme): balance -5, but"}},
		{"unbalanced txn", "UPDATE ledger_entries SET amount = amount + 5 WHERE kind = 'grant' AND amount > 0;",
			[]string{"txn txn-", "2 entries summing to 5 (want", "(acme): balance 750, but its entries add up to 755"}},
		{"missing leg", "DELETE FROM ledger_entries WHERE kind = 'grant' AND amount < 0;",
			[]string{"1 entries summing to 1000", "(system:grants): balance -1000, but its entries add up to 0"}},
		{"third leg",
			"INSERT INTO ledger_entries (at, txn_id, request_id, account_id, user_account_id, kind, amount) " +
				"SELECT at, txn_id, request_id, -3, user_account_id, kind, 1 FROM ledger_entries WHERE kind = 'grant' LIMIT 1;",
			[]string{"3 entries summing to 1", "(system:revenue): balance 200, but its entries add up to 201",
				"a grant posted to account -3 (system:revenue), which a grant does not touch"}},
		{"wrong sign", "UPDATE ledger_entries SET amount = -amount WHERE kind = 'release';",
			[]string{"a release of 100 on account -2 (system:holds) has the wrong sign",
				"a release of -100 on account 1 (user) has the wrong sign"}},
		{"leg on another user",
			"INSERT INTO accounts (id, name, created_at) VALUES (2, 'globex', 0); " +
				"UPDATE ledger_entries SET account_id = 2 WHERE kind = 'grant' AND amount > 0;",
			[]string{"posted to user account 2, but concerns user account 1"}},
		{"hold row missing", "DELETE FROM ledger_holds WHERE request_id = 'open';",
			[]string{`request "open": hold of 50 unsettled (captured 0, released 0) but not in ledger_holds`}},
		{"hold row wrong", "UPDATE ledger_holds SET held = 51 WHERE request_id = 'open';",
			[]string{`request "open": ledger_holds has held 51, captured 0, released 0 on account 1; the entries say 50, 0, 0 on account 1`}},
		{"hold row stale",
			"INSERT INTO ledger_holds (request_id, account_id, held, at) VALUES ('r1', 1, 300, 0), ('ghost', 1, 7, 0);",
			[]string{`request "r1": settled, but still in ledger_holds`, `request "ghost": in ledger_holds, but it has no hold`}},
		{"over-settled", "UPDATE ledger_entries SET amount = amount * 2 WHERE kind = 'capture';",
			[]string{`request "r1": captured 400 and released 100, more than its hold of 300`}},
		{"under-settled", "UPDATE ledger_entries SET amount = amount / 2 WHERE kind = 'capture';",
			[]string{`request "r1": captured 100 and released 100, which do not settle its hold of 300`}},
		{"capture without hold", "DELETE FROM ledger_entries WHERE request_id = 'r1' AND kind = 'hold';",
			[]string{`request "r1": captured 200 and released 100 without a hold`}},
		{"refund beyond capture",
			"INSERT INTO ledger_entries (at, txn_id, request_id, account_id, user_account_id, kind, amount) VALUES " +
				"(0, 'r1:refund', 'r1', -3, 1, 'refund', -250), (0, 'r1:refund', 'r1', 1, 1, 'refund', 250);",
			[]string{`request "r1": refunded 250, more than its capture of 200`}},
		{"refund beyond charge",
			"INSERT INTO ledger_entries (at, txn_id, request_id, account_id, user_account_id, kind, amount) VALUES " +
				"(0, 'c9:charge', 'c9', 1, 1, 'charge', -10), (0, 'c9:charge', 'c9', -3, 1, 'charge', 10), " +
				"(0, 'c9:refund', 'c9', -3, 1, 'refund', -11), (0, 'c9:refund', 'c9', 1, 1, 'refund', 11);",
			[]string{`request "c9": refunded 11, more than its charge of 10`}},
		{"charged and held",
			"INSERT INTO ledger_entries (at, txn_id, request_id, account_id, user_account_id, kind, amount) VALUES " +
				"(0, 'r1:charge', 'r1', 1, 1, 'charge', -10), (0, 'r1:charge', 'r1', -3, 1, 'charge', 10);",
			[]string{`request "r1": charged 10, and also held 300, captured 200 and released 100 (a charge is not a hold)`}},
		{"charge on the wrong account",
			"INSERT INTO ledger_entries (at, txn_id, request_id, account_id, user_account_id, kind, amount) VALUES " +
				"(0, 'c9:charge', 'c9', 1, 1, 'charge', -10), (0, 'c9:charge', 'c9', -2, 1, 'charge', 10);",
			[]string{"a charge posted to account -2 (system:holds), which a charge does not touch"}},
		{"charge with the wrong sign",
			"INSERT INTO ledger_entries (at, txn_id, request_id, account_id, user_account_id, kind, amount) VALUES " +
				"(0, 'c9:charge', 'c9', 1, 1, 'charge', 10), (0, 'c9:charge', 'c9', -3, 1, 'charge', -10);",
			[]string{"a charge of 10 on account 1 (user) has the wrong sign", "a charge of -10 on account -3 (system:revenue) has the wrong sign"}},
		{"many problems",
			"WITH RECURSIVE n(i) AS (SELECT 10 UNION ALL SELECT i + 1 FROM n WHERE i < 1109) " +
				"INSERT INTO accounts (id, name, created_at, balance) SELECT i, 'acct-' || i, 0, 1 FROM n;",
			[]string{"(acct-10): balance 1, but", "… and 100 more problems"}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			f := newLedgerFixture(t)
			f.apply(t,
				LedgerOp{Kind: LedgerGrant, AccountID: f.user, Amount: 1000},
				LedgerOp{Kind: LedgerHold, AccountID: f.user, Amount: 300, RequestID: "r1"},
				LedgerOp{Kind: LedgerCapture, Amount: 200, RequestID: "r1"},
				LedgerOp{Kind: LedgerRelease, Amount: 100, RequestID: "r1"},
				LedgerOp{Kind: LedgerHold, AccountID: f.user, Amount: 50, RequestID: "open"},
			)
			if r := verifyClean(t, f.s); r.OpenHolds != 1 || r.Entries != 10 || r.Transactions != 5 {
				t.Fatalf("before corruption: %+v", r)
			}
			f.s.execRaw(t, tt.corrupt)
			r, err := f.s.VerifyLedger(context.Background())
			if err != nil {
				t.Fatal(err)
			}
			all := strings.Join(r.Problems, "\n")
			for _, w := range tt.want {
				if !strings.Contains(all, w) {
					t.Errorf("no problem mentions %q; problems:\n%s", w, all)
				}
			}
			if len(r.Problems) > maxVerifyProblems+1 {
				t.Errorf("%d problems reported", len(r.Problems))
			}
		})
	}
}

// TestLedgerHammer has 100 goroutines hold 1 credit each, concurrently,
// on an account holding 10: exactly 10 holds may succeed.
func TestLedgerHammer(t *testing.T) {
	f := newLedgerFixture(t)
	f.mustApply(t, LedgerOp{Kind: LedgerGrant, AccountID: f.user, Amount: 10})
	const goroutines = 100
	var (
		wg                   sync.WaitGroup
		mu                   sync.Mutex
		applied, insufficent int
	)
	for i := range goroutines {
		wg.Add(1)
		go func() {
			defer wg.Done()
			res, err := f.s.ApplyLedger(context.Background(), []LedgerOp{
				{Kind: LedgerHold, AccountID: f.user, Amount: 1, RequestID: fmt.Sprint("req-", i)},
			})
			if err != nil {
				t.Error(err)
				return
			}
			mu.Lock()
			defer mu.Unlock()
			switch {
			case res[0].Applied && res[0].Err == nil:
				applied++
			case errors.Is(res[0].Err, ErrInsufficientCredits):
				insufficent++
			default:
				t.Errorf("result %+v", res[0])
			}
		}()
	}
	wg.Wait()
	if applied != 10 || insufficent != goroutines-10 {
		t.Errorf("%d holds applied, %d insufficient; want 10 and %d", applied, insufficent, goroutines-10)
	}
	if got := f.balances(t); got[0] != 0 || got[2] != 10 {
		t.Errorf("balances %v", got)
	}
	if r := verifyClean(t, f.s); r.OpenHolds != 10 {
		t.Errorf("%d open holds, want 10", r.OpenHolds)
	}
}

// TestLedgerKeepsConnectionSettings checks that the synchronous=FULL of
// ledger transactions does not leak into the pool.
func TestLedgerKeepsConnectionSettings(t *testing.T) {
	f := newLedgerFixture(t)
	for range 5 {
		f.mustApply(t, LedgerOp{Kind: LedgerGrant, AccountID: f.user, Amount: 1})
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	f.s.ApplyLedger(ctx, []LedgerOp{{Kind: LedgerGrant, AccountID: f.user, Amount: 1}})
	if v := queryInt(t, f.s, "PRAGMA synchronous;"); v != 1 {
		t.Errorf("synchronous = %d after ledger transactions, want 1 (NORMAL)", v)
	}
}

// queryPlan returns the query plan of a file in queries/.
func queryPlan(t testing.TB, s *Store, name string) string {
	t.Helper()
	text, err := fs.ReadFile(queries, name)
	if err != nil {
		t.Fatal(err)
	}
	var plan []string
	withConn(t, s, func(conn *sqlite.Conn) {
		stmt, _, err := conn.PrepareTransient("EXPLAIN QUERY PLAN " + strings.TrimSpace(string(text)))
		if err != nil {
			t.Fatal(err)
		}
		defer stmt.Finalize()
		for {
			row, err := stmt.Step()
			if err != nil {
				t.Fatal(err)
			}
			if !row {
				break
			}
			plan = append(plan, stmt.GetText("detail"))
		}
	})
	return strings.Join(plan, "\n")
}

// TestLedgerAndStatsQueriesUseIndexes guards the queries run per request
// or over tables that grow without bound against full scans and sorts.
func TestLedgerAndStatsQueriesUseIndexes(t *testing.T) {
	s, _ := openTest(t, Options{})
	for _, tt := range []struct {
		query string
		want  []string // substrings of the plan
		sorts bool     // the plan may sort: it reads a handful of rows
	}{
		{"ledger_request_txns.sql", []string{"SEARCH ledger_entries USING INDEX ledger_entries_request (request_id=?)"}, false},
		{"ledger_entries_by_request.sql", []string{"USING INDEX ledger_entries_request (request_id=?)"}, true},
		{"ledger_entries_by_user.sql", []string{"USING INDEX ledger_entries_user_at (user_account_id=? AND at>? AND at<?)"}, false},
		{"ledger_entries_recent.sql", []string{"USING INTEGER PRIMARY KEY"}, false},
		{"ledger_charged_since.sql", []string{"USING INDEX ledger_entries_user_at (user_account_id=? AND at>?)"}, false},
		{"ledger_open_holds.sql", []string{"SCAN h", "SEARCH e USING INDEX ledger_entries_request"}, true},
		{"ledger_hold_delete.sql", []string{"USING PRIMARY KEY (request_id=?)"}, false},
		{"ledger_account.sql", []string{"USING INTEGER PRIMARY KEY (rowid=?)"}, false},
		{"ledger_account_post.sql", []string{"USING INTEGER PRIMARY KEY (rowid=?)"}, false},
		{"ledger_system_accounts.sql", []string{"USING INTEGER PRIMARY KEY (rowid<?)"}, false},
		{"ledger_balances.sql", []string{"USING INTEGER PRIMARY KEY (rowid=?)"}, false},
		{"stats_list.sql", []string{"USING PRIMARY KEY (bucket=? AND start>? AND start<?)"}, false},
		{"stats_hist_get.sql", []string{"USING PRIMARY KEY (bucket=? AND start=? AND account_id=? AND key_id=? AND provider=? AND model=?)"}, false},
		{"calls_by_account.sql", []string{"USING INDEX model_calls_account_id_created_at (account_id=? AND created_at>? AND created_at<?)"}, false},
		{"calls_recent.sql", []string{"USING INDEX model_calls_created_at (created_at>? AND created_at<?)"}, false},
		{"calls_by_key.sql", []string{"USING INDEX model_calls_key_id_created_at (key_id=? AND created_at>? AND created_at<?)"}, false},
	} {
		t.Run(tt.query, func(t *testing.T) {
			plan := queryPlan(t, s, tt.query)
			for _, w := range tt.want {
				if !strings.Contains(plan, w) {
					t.Errorf("plan does not contain %q:\n%s", w, plan)
				}
			}
			if !tt.sorts && strings.Contains(plan, "TEMP B-TREE") {
				t.Errorf("plan sorts in a temporary b-tree:\n%s", plan)
			}
		})
	}
}

// holdRows lists ledger_holds as "request account held/captured/released@at".
func holdRows(t testing.TB, s *Store) []string {
	t.Helper()
	var rows []string
	withConn(t, s, func(conn *sqlite.Conn) {
		err := sqlitex.ExecuteTransient(conn, "SELECT * FROM ledger_holds ORDER BY request_id;", &sqlitex.ExecOptions{
			ResultFunc: func(stmt *sqlite.Stmt) error {
				h := scanHold(stmt)
				rows = append(rows, fmt.Sprintf("%s %d %d/%d/%d@%d", h.requestID, h.accountID, h.held, h.captured, h.released, h.at.UnixMilli()))
				return nil
			},
		})
		if err != nil {
			t.Fatal(err)
		}
	})
	return rows
}

// TestLedgerHoldsAcrossBatches checks the rows of ledger_holds, which a
// batch writes once at its end, for holds made, settled in part and
// settled in full, within one batch and across batches.
func TestLedgerHoldsAcrossBatches(t *testing.T) {
	f := newLedgerFixture(t)
	u := f.user
	type step struct {
		ops      []LedgerOp
		failing  map[int]string // op index → error substring
		rows     []string       // ledger_holds after the batch; "@now" is the batch's time
		prepare  string         // SQL run before the batch
		wantOpen int
	}
	for i, st := range []step{
		{
			ops: []LedgerOp{
				{Kind: LedgerGrant, AccountID: u, Amount: 1000},
				{Kind: LedgerHold, AccountID: u, Amount: 100, RequestID: "a"},
				{Kind: LedgerCapture, Amount: 30, RequestID: "a"},
				{Kind: LedgerHold, AccountID: u, Amount: 50, RequestID: "b"},
				{Kind: LedgerRelease, Amount: 50, RequestID: "b"}, // settled within the batch: no row
				{Kind: LedgerHold, AccountID: u, Amount: 70, RequestID: "c"},
				{Kind: LedgerCapture, Amount: 999, RequestID: "c"}, // fails, changes nothing
				{Kind: LedgerHold, AccountID: u, Amount: 5000, RequestID: "e"},
			},
			failing:  map[int]string{6: "exceeds the 70 left", 7: "insufficient credits"},
			rows:     []string{"a 1 100/30/0@now", "c 1 70/0/0@now"},
			wantOpen: 2,
		},
		{
			// A hold keeps its time when a later batch settles part of it.
			prepare: "UPDATE ledger_holds SET at = 1000 WHERE request_id = 'c';",
			ops: []LedgerOp{
				{Kind: LedgerCapture, Amount: 20, RequestID: "c"},
				{Kind: LedgerRelease, Amount: 70, RequestID: "a"},
				{Kind: LedgerHold, AccountID: u, Amount: 10, RequestID: "d"},
				{Kind: LedgerCapture, Amount: 1, RequestID: "b"},
			},
			failing:  map[int]string{3: "already settled"},
			rows:     []string{"c 1 70/20/0@1000", "d 1 10/0/0@now"},
			wantOpen: 2,
		},
		{
			ops: []LedgerOp{
				{Kind: LedgerRelease, Amount: 50, RequestID: "c"},
				{Kind: LedgerCapture, Amount: 10, RequestID: "d"},
			},
			rows: nil,
		},
	} {
		if st.prepare != "" {
			f.s.execRaw(t, st.prepare)
		}
		before := now().UnixMilli()
		res := f.apply(t, st.ops...)
		after := now().UnixMilli()
		for j, r := range res {
			want, fails := st.failing[j]
			switch {
			case fails && (r.Applied || r.Err == nil || !strings.Contains(r.Err.Error(), want)):
				t.Errorf("batch %d op %d: %+v, want an error containing %q", i, j, r, want)
			case !fails && (!r.Applied || r.Err != nil):
				t.Errorf("batch %d op %d: %+v", i, j, r)
			}
		}
		var got []string
		for _, row := range holdRows(t, f.s) {
			// The batch's time is between before and after.
			var at int64
			fmt.Sscanf(row[strings.Index(row, "@")+1:], "%d", &at)
			if at >= before && at <= after {
				row = row[:strings.Index(row, "@")] + "@now"
			}
			got = append(got, row)
		}
		if !reflect.DeepEqual(got, st.rows) {
			t.Errorf("batch %d: ledger_holds %q, want %q", i, got, st.rows)
		}
		if r := verifyClean(t, f.s); r.OpenHolds != st.wantOpen {
			t.Errorf("batch %d: %d open holds, want %d", i, r.OpenHolds, st.wantOpen)
		}
	}
	if got, want := f.balances(t), [5]int64{1000 - 30 - 20 - 10, -1000, 0, 60, 0}; got != want {
		t.Errorf("balances %v, want %v", got, want)
	}
}

// TestLedgerRefusedLeg has the database refuse one leg of a transaction
// (a trigger stands for a constraint the Go checks missed): the operation
// fails and writes nothing, the first leg included, and the rest of the
// batch is applied.
func TestLedgerRefusedLeg(t *testing.T) {
	f := newLedgerFixture(t)
	f.mustApply(t, LedgerOp{Kind: LedgerGrant, AccountID: f.user, Amount: 100})
	f.s.execRaw(t, `CREATE TRIGGER refuse_leg BEFORE INSERT ON ledger_entries
WHEN (NEW.memo = 'refuse user leg' AND NEW.account_id > 0) OR (NEW.memo = 'refuse revenue leg' AND NEW.account_id = -3)
BEGIN SELECT RAISE(ABORT, 'leg refused'); END;`)
	entries := queryInt(t, f.s, "SELECT count(*) FROM ledger_entries;")
	res := f.apply(t,
		LedgerOp{Kind: LedgerCharge, AccountID: f.user, Amount: 10, RequestID: "ok1"},
		// A charge's legs: the user's first, then system:revenue's.
		LedgerOp{Kind: LedgerCharge, AccountID: f.user, Amount: 20, RequestID: "first", Memo: "refuse user leg"},
		LedgerOp{Kind: LedgerCharge, AccountID: f.user, Amount: 30, RequestID: "second", Memo: "refuse revenue leg"},
		LedgerOp{Kind: LedgerCharge, AccountID: f.user, Amount: 40, RequestID: "ok2"},
		LedgerOp{Kind: LedgerCharge, AccountID: f.user, Amount: 50, RequestID: "ok3"},
	)
	for i, r := range res {
		refused := i == 1 || i == 2
		switch {
		case refused && (r.Applied || r.Err == nil || !strings.Contains(r.Err.Error(), "rejected by the database")):
			t.Errorf("op %d: %+v, want refused", i, r)
		case !refused && (!r.Applied || r.Err != nil):
			t.Errorf("op %d: %+v", i, r)
		}
	}
	if r := res[4]; r.Balance != 0 {
		t.Errorf("balance after the last charge %d, want 0 (the refused charges took nothing)", r.Balance)
	}
	if n := queryInt(t, f.s, "SELECT count(*) FROM ledger_entries;"); n != entries+6 {
		t.Errorf("%d entries written, want 6", n-entries)
	}
	if n := queryInt(t, f.s, "SELECT count(*) FROM ledger_entries WHERE memo LIKE 'refuse%';"); n != 0 {
		t.Errorf("%d entries of refused transactions", n)
	}
	if got, want := f.balances(t), [5]int64{0, -100, 0, 100, 0}; got != want {
		t.Errorf("balances %v, want %v", got, want)
	}
	verifyClean(t, f.s)
	// A refused operation left no trace: applied again (and allowed), it
	// is no duplicate.
	f.s.execRaw(t, "DROP TRIGGER refuse_leg;")
	f.mustApply(t, LedgerOp{Kind: LedgerGrant, AccountID: f.user, Amount: 30})
	if r := f.mustApply(t, LedgerOp{Kind: LedgerCharge, AccountID: f.user, Amount: 30, RequestID: "second"}); r.Duplicate {
		t.Errorf("charge %+v", r)
	}
	verifyClean(t, f.s)
}

// TestLedgerHammerBatches has several writers apply batches of whole
// calls (hold, capture, release; or a charge) on shared accounts at once,
// some settled in the batch of their hold and some in the next, each
// batch applied twice: the ledger stays consistent and every call is
// counted once.
func TestLedgerHammerBatches(t *testing.T) {
	f := newLedgerFixture(t)
	ctx := context.Background()
	accts := []int64{f.user}
	for i := range 2 {
		a, err := f.s.EnsureAccount(ctx, fmt.Sprint("acct-", i))
		if err != nil {
			t.Fatal(err)
		}
		accts = append(accts, a.ID)
	}
	for _, id := range accts {
		f.mustApply(t, LedgerOp{Kind: LedgerGrant, AccountID: id, Amount: 100_000})
	}
	const writers, batches, calls = 4, 20, 10
	var wg sync.WaitGroup
	for w := range writers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var pending []LedgerOp // settlements for the next batch
			for b := range batches {
				ops := pending
				pending = nil
				for c := range calls {
					id := fmt.Sprintf("w%d-b%d-c%d", w, b, c)
					acct := accts[(w+b+c)%len(accts)]
					settle := []LedgerOp{
						{Kind: LedgerCapture, Amount: 6, RequestID: id},
						{Kind: LedgerRelease, Amount: 4, RequestID: id},
					}
					switch c % 3 {
					case 0:
						ops = append(ops, LedgerOp{Kind: LedgerCharge, AccountID: acct, Amount: 6, RequestID: id})
					case 1:
						ops = append(ops, LedgerOp{Kind: LedgerHold, AccountID: acct, Amount: 10, RequestID: id})
						ops = append(ops, settle...)
					case 2:
						ops = append(ops, LedgerOp{Kind: LedgerHold, AccountID: acct, Amount: 10, RequestID: id})
						pending = append(pending, settle...)
					}
				}
				for try := range 2 {
					res, err := f.s.ApplyLedger(ctx, ops)
					if err != nil {
						t.Error(err)
						return
					}
					for i, r := range res {
						if r.Err != nil || r.Applied == (try == 1) || r.Duplicate != (try == 1) {
							t.Errorf("try %d of %+v: %+v", try, ops[i], r)
						}
					}
				}
			}
			if _, err := f.s.ApplyLedger(ctx, pending); err != nil {
				t.Error(err)
			}
		}()
	}
	wg.Wait()
	r := verifyClean(t, f.s)
	if r.OpenHolds != 0 {
		t.Errorf("%d open holds", r.OpenHolds)
	}
	revenue := int64(writers * batches * calls * 6)
	b := f.balances(t)
	if b[3] != revenue {
		t.Errorf("revenue %d, want %d", b[3], revenue)
	}
	total := int64(0)
	all, err := f.s.Balances(ctx, accts)
	if err != nil {
		t.Fatal(err)
	}
	for _, a := range all {
		total += a.Balance
	}
	if want := int64(len(accts))*100_000 - revenue; total != want {
		t.Errorf("users hold %d, want %d", total, want)
	}
}

// TestLedgerHotStatementsBuildNoTempBtree guards the statements run per
// ledger operation against temporary b-trees (an IN list of more than two
// values, in a query or a CHECK constraint, builds one at every run): with
// modernc's allocator each costs a map and an unmap of memory.
// TestHotStatementsBuildNoTempBtree keeps the statements run for every call
// (recording it, its rollups, its charge) or every request (its key) free
// of temporary b-trees: SQLite builds one per execution for, among others,
// a CHECK of x IN (a list of more than two values), and with the pure-Go
// allocator each costs an mmap and munmap (see migration 0005).
func TestHotStatementsBuildNoTempBtree(t *testing.T) {
	s, _ := openTest(t, Options{})
	for _, name := range []string{
		"call_insert.sql", "attempt_insert.sql", "stats_upsert.sql", "stats_hist_get.sql",
		"api_key_by_hash.sql", "session_by_hash.sql", "version_get.sql",
		"ledger_entry_insert.sql", "ledger_request_txns.sql", "ledger_account.sql", "ledger_account_post.sql",
		"ledger_hold_put.sql", "ledger_hold_delete.sql", "ledger_system_accounts.sql",
	} {
		t.Run(name, func(t *testing.T) {
			text, err := fs.ReadFile(queries, name)
			if err != nil {
				t.Fatal(err)
			}
			withConn(t, s, func(conn *sqlite.Conn) {
				stmt, _, err := conn.PrepareTransient("EXPLAIN " + strings.TrimSpace(string(text)))
				if err != nil {
					t.Fatal(err)
				}
				defer stmt.Finalize()
				n := 0
				for {
					row, err := stmt.Step()
					if err != nil {
						t.Fatal(err)
					}
					if !row {
						break
					}
					n++
					if op := stmt.GetText("opcode"); op == "OpenEphemeral" || op == "OpenAutoindex" {
						t.Errorf("%s at address %d", op, stmt.GetInt64("addr"))
					}
				}
				if n == 0 {
					t.Error("no program")
				}
			})
		})
	}
}
