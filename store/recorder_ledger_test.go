package store

import (
	"context"
	"errors"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// doneLog collects what ledger attachments' Done calls report, by call.
type doneLog struct {
	mu   sync.Mutex
	got  map[string][]LedgerResult
	errs map[string]error
}

// attach returns an attachment of ops reporting to d under id.
func (d *doneLog) attach(id string, ops ...LedgerOp) *LedgerAttachment {
	return &LedgerAttachment{Ops: ops, Done: func(res []LedgerResult, err error) {
		d.mu.Lock()
		defer d.mu.Unlock()
		if _, dup := d.got[id]; dup {
			panic("Done called twice for " + id)
		}
		d.got[id] = append([]LedgerResult(nil), res...)
		d.errs[id] = err
	}}
}

func newDoneLog() *doneLog {
	return &doneLog{got: map[string][]LedgerResult{}, errs: map[string]error{}}
}

// TestRecorderCarriesLedger: charges carried by call records are applied
// in the recorder's transaction, with their results; a charge the ledger
// refuses is reported refused without failing its batch; a call that is
// not recorded reports its operations as not applied.
func TestRecorderCarriesLedger(t *testing.T) {
	f := newLedgerFixture(t)
	ctx := context.Background()
	f.mustApply(t, LedgerOp{Kind: LedgerGrant, AccountID: f.user, Amount: 1000})
	r := NewRecorder(f.s, RecorderOptions{Logger: quietLogger()})
	d := newDoneLog()

	// Queue everything behind the lock so the calls share a batch.
	release := holdWriteLock(t, f.path)
	for i, amount := range []int64{300, 5000, 200} { // the second exceeds the balance
		id := []string{"c1", "c2", "c3"}[i]
		c := testCall(id, 1)
		c.AccountID = f.user
		c.Credits = amount
		c.Ledger = d.attach(id, LedgerOp{Kind: LedgerCharge, AccountID: f.user, Amount: amount, RequestID: id, Memo: "m"})
		if err := r.Record(c); err != nil {
			t.Fatal(err)
		}
	}
	release()
	if err := r.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	for _, id := range []string{"c1", "c3"} {
		if res := d.got[id]; d.errs[id] != nil || len(res) != 1 || !res[0].Applied || res[0].Err != nil {
			t.Errorf("%s: Done(%+v, %v), want applied", id, res, d.errs[id])
		}
	}
	if res := d.got["c2"]; d.errs["c2"] != nil || len(res) != 1 || !errors.Is(res[0].Err, ErrInsufficientCredits) {
		t.Errorf("c2: Done(%+v, %v), want refused for insufficient credits", d.got["c2"], d.errs["c2"])
	}
	if rows, _, _, _ := callTotals(t, f.s); rows != 3 {
		t.Errorf("%d calls recorded, want 3 (a refused charge does not lose its call)", rows)
	}
	if b := f.balances(t); b[0] != 500 {
		t.Errorf("user balance %d, want 1000-300-200 = 500", b[0])
	}
	verifyClean(t, f.s)

	// A call Record refuses (invalid) and one recorded after Close report
	// ErrNotRecorded, and nothing is applied.
	bad := testCall("bad", 1)
	bad.Status = "nonsense"
	bad.Ledger = d.attach("bad", LedgerOp{Kind: LedgerCharge, AccountID: f.user, Amount: 1, RequestID: "bad"})
	if err := r.Record(bad); err == nil {
		t.Fatal("invalid call recorded")
	}
	closeRecorder(t, r)
	late := testCall("late", 1)
	late.Ledger = d.attach("late", LedgerOp{Kind: LedgerCharge, AccountID: f.user, Amount: 1, RequestID: "late"})
	if err := r.Record(late); err == nil {
		t.Fatal("recorded after Close")
	}
	for _, id := range []string{"bad", "late"} {
		if !errors.Is(d.errs[id], ErrNotRecorded) || d.got[id] != nil {
			t.Errorf("%s: Done(%v, %v), want ErrNotRecorded", id, d.got[id], d.errs[id])
		}
	}
	if b := f.balances(t); b[0] != 500 {
		t.Errorf("user balance %d after unrecorded calls, want 500", b[0])
	}
}

// TestRecorderLedgerPoisonCall: a call the database rejects does not
// apply its charge and says so; the others in its batch are charged.
func TestRecorderLedgerPoisonCall(t *testing.T) {
	f := newLedgerFixture(t)
	ctx := context.Background()
	f.mustApply(t, LedgerOp{Kind: LedgerGrant, AccountID: f.user, Amount: 1000})
	f.s.execRaw(t, `CREATE TRIGGER poison BEFORE INSERT ON model_calls WHEN NEW.request_id = 'poison'
		BEGIN SELECT RAISE(ABORT, 'poisoned call'); END;`)
	r := NewRecorder(f.s, RecorderOptions{Logger: quietLogger()})
	defer closeRecorder(t, r)
	d := newDoneLog()
	release := holdWriteLock(t, f.path)
	for _, id := range []string{"a", "poison", "b"} {
		c := testCall(id, 1)
		c.Ledger = d.attach(id, LedgerOp{Kind: LedgerCharge, AccountID: f.user, Amount: 100, RequestID: id})
		if err := r.Record(c); err != nil {
			t.Fatal(err)
		}
	}
	release()
	if err := r.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	if !errors.Is(d.errs["poison"], ErrNotRecorded) {
		t.Errorf("poison: Done err %v, want ErrNotRecorded", d.errs["poison"])
	}
	for _, id := range []string{"a", "b"} {
		if res := d.got[id]; d.errs[id] != nil || len(res) != 1 || !res[0].Applied {
			t.Errorf("%s: Done(%+v, %v), want applied", id, res, d.errs[id])
		}
	}
	if b := f.balances(t); b[0] != 800 {
		t.Errorf("user balance %d, want 800", b[0])
	}
	es, err := f.s.LedgerEntries(ctx, LedgerFilter{RequestID: "poison"})
	if err != nil || len(es) != 0 {
		t.Errorf("poison's entries: %v, %v; want none", es, err)
	}
}

// TestRecorderBatchesCharges: the charges of a batch share one ledger
// transaction per user account — one user leg per request, one
// system:revenue leg for their sum — and behave as charges in every
// other way: balances, idempotency, refunds, the day's total, verify.
func TestRecorderBatchesCharges(t *testing.T) {
	f := newLedgerFixture(t)
	ctx := context.Background()
	b, err := f.s.EnsureAccount(ctx, "beta")
	if err != nil {
		t.Fatal(err)
	}
	f.mustApply(t, LedgerOp{Kind: LedgerGrant, AccountID: f.user, Amount: 1000})
	f.mustApply(t, LedgerOp{Kind: LedgerGrant, AccountID: b.ID, Amount: 1000})
	r := NewRecorder(f.s, RecorderOptions{Logger: quietLogger()})
	defer closeRecorder(t, r)
	d := newDoneLog()
	charges := []struct {
		id      string
		account int64
		amount  int64
	}{{"a1", f.user, 10}, {"b1", b.ID, 20}, {"a2", f.user, 30}, {"a3", f.user, 40}, {"b2", b.ID, 50}}
	release := holdWriteLock(t, f.path)
	for _, c := range charges {
		call := testCall(c.id, 1)
		call.Ledger = d.attach(c.id, LedgerOp{Kind: LedgerCharge, AccountID: c.account, Amount: c.amount, RequestID: c.id, Memo: "m",
			Detail: []byte(`[{"name":"input","quantity":1,"amount":` + strconv.FormatInt(c.amount, 10) + `}]`)})
		if err := r.Record(call); err != nil {
			t.Fatal(err)
		}
	}
	release()
	if err := r.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	txns := map[int64]string{}
	for _, c := range charges {
		res := d.got[c.id]
		if len(res) != 1 || !res[0].Applied || res[0].Err != nil {
			t.Fatalf("%s: %+v %v", c.id, res, d.errs[c.id])
		}
		if prev, ok := txns[c.account]; ok && prev != res[0].TxnID {
			t.Errorf("%s: txn %s, but the account's other charges are in %s", c.id, res[0].TxnID, prev)
		}
		txns[c.account] = res[0].TxnID
	}
	if txns[f.user] == txns[b.ID] {
		t.Errorf("both accounts' charges in one transaction %s", txns[f.user])
	}
	es, err := f.s.LedgerEntries(ctx, LedgerFilter{AccountID: f.revenue})
	if err != nil {
		t.Fatal(err)
	}
	if len(es) != 2 {
		t.Fatalf("%d revenue legs, want one per account: %+v", len(es), es)
	}
	for _, e := range es {
		want := map[int64]int64{f.user: 80, b.ID: 70}[e.UserAccountID]
		if e.Amount != want || e.RequestID != "" || e.TxnID != txns[e.UserAccountID] {
			t.Errorf("revenue leg %+v, want %d for account %d in %s", e, want, e.UserAccountID, txns[e.UserAccountID])
		}
	}
	bals, err := f.s.Balances(ctx, []int64{f.user, b.ID, f.revenue})
	if err != nil {
		t.Fatal(err)
	}
	if bals[f.user].Balance != 920 || bals[b.ID].Balance != 930 || bals[f.revenue].Balance != 150 {
		t.Errorf("balances %+v, want 920, 930 and revenue 150", bals)
	}
	if got, err := f.s.ChargedSince(ctx, f.user, time.Now().Add(-time.Hour)); err != nil || got != 80 {
		t.Errorf("ChargedSince = %d, %v; want 80", got, err)
	}
	verifyClean(t, f.s)

	// The same charge again is a duplicate, with its amount; a different
	// amount is a conflict. A refund takes back at most what was charged.
	res := f.apply(t, LedgerOp{Kind: LedgerCharge, AccountID: f.user, Amount: 30, RequestID: "a2"},
		LedgerOp{Kind: LedgerCharge, AccountID: f.user, Amount: 31, RequestID: "a2"},
		LedgerOp{Kind: LedgerRefund, Amount: 41, RequestID: "a3"},
		LedgerOp{Kind: LedgerRefund, Amount: 40, RequestID: "a3"})
	if !res[0].Duplicate || res[0].Err != nil || res[0].TxnID != txns[f.user] {
		t.Errorf("same charge again: %+v", res[0])
	}
	if !errors.Is(res[1].Err, ErrExists) {
		t.Errorf("different charge again: %+v", res[1])
	}
	if res[2].Err == nil || !res[3].Applied {
		t.Errorf("refunds of 41 and 40 on a charge of 40: %+v, %+v", res[2], res[3])
	}
	if got, _ := f.s.ChargedSince(ctx, f.user, time.Now().Add(-time.Hour)); got != 40 {
		t.Errorf("ChargedSince after a refund of 40 = %d, want 40", got)
	}
	verifyClean(t, f.s)

	// Tampering with a batch is caught.
	f.s.execRaw(t, `UPDATE ledger_entries SET amount = amount + 1 WHERE request_id = '' AND kind = 'charge' AND user_account_id = `+
		strconv.FormatInt(b.ID, 10))
	rep, err := f.s.VerifyLedger(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.ContainsFunc(rep.Problems, func(p string) bool { return strings.Contains(p, txns[b.ID]) }) {
		t.Errorf("a batch's revenue leg changed, verify says %q", rep.Problems)
	}
}

// carryFixture is a ledger fixture whose user has 1000 credits, a recorder
// on it (closed at the end of the test) and a log of Done calls.
func carryFixture(t *testing.T) (*ledgerFixture, *Recorder, *doneLog) {
	t.Helper()
	f := newLedgerFixture(t)
	f.mustApply(t, LedgerOp{Kind: LedgerGrant, AccountID: f.user, Amount: 1000})
	r := NewRecorder(f.s, RecorderOptions{Logger: quietLogger()})
	t.Cleanup(func() { closeRecorder(t, r) })
	return f, r, newDoneLog()
}

// TestRecorderMintedCharges: minted charges (new request IDs, the hub's own
// compact detail) skip the lookup of earlier transactions and the
// compaction, and lose none of the checks: the detail is stored as given, a
// second charge for the same request (in a later batch, or in the same
// one) is refused by the unique index without touching the balance, and a
// detail that is not JSON is refused by the schema; each refused charge's
// call is still recorded, and the ledger verifies.
func TestRecorderMintedCharges(t *testing.T) {
	f, r, d := carryFixture(t)
	ctx := context.Background()
	record := func(call, req string, amount int64, detail string) {
		t.Helper()
		c := testCall(call, 1)
		c.AccountID = f.user
		c.Ledger = d.attach(call, LedgerOp{Kind: LedgerCharge, AccountID: f.user, Amount: amount, RequestID: req,
			Memo: "m", Detail: []byte(detail), Minted: true})
		if err := r.Record(c); err != nil {
			t.Fatal(err)
		}
	}
	const items = `[{"name":"input","quantity":20,"amount":3}]`
	record("m1", "m1", 100, items)
	if err := r.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	release := holdWriteLock(t, f.path)
	record("m1-again", "m1", 100, items) // an earlier batch's request
	record("m2", "m2", 50, "{}")
	record("m2-again", "m2", 50, "{}") // the same batch's request
	record("m3", "m3", 10, `{"broken":`)
	release()
	if err := r.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	for _, id := range []string{"m1", "m2"} {
		if res := d.got[id]; d.errs[id] != nil || len(res) != 1 || !res[0].Applied {
			t.Errorf("%s: Done(%+v, %v), want applied", id, res, d.errs[id])
		}
	}
	for _, id := range []string{"m1-again", "m2-again", "m3"} {
		if res := d.got[id]; d.errs[id] != nil || len(res) != 1 || res[0].Applied || res[0].Err == nil {
			t.Errorf("%s: Done(%+v, %v), want refused", id, res, d.errs[id])
		}
	}
	if b := f.balances(t); b[0] != 850 {
		t.Errorf("user balance %d, want 1000-100-50 = 850", b[0])
	}
	if rows, _, _, _ := callTotals(t, f.s); rows != 5 {
		t.Errorf("%d calls recorded, want 5 (refused charges lose no call)", rows)
	}
	es, err := f.s.LedgerEntries(ctx, LedgerFilter{RequestID: "m1"})
	if err != nil || len(es) != 1 || string(es[0].Detail) != items || es[0].Amount != -100 {
		t.Errorf("m1's entries: %+v, %v; want the user leg with the detail as given", es, err)
	}
	verifyClean(t, f.s)
}

// TestRecorderPreparesLateLedger: an attachment with Prepare is prepared
// once, before its call is written — a batch's calls in their order — and
// its credits go into the record; a batch waiting to commit is not
// prepared again; a call refused by Record, or abandoned, is prepared
// before Done reports it not recorded.
func TestRecorderPreparesLateLedger(t *testing.T) {
	f, r, d := carryFixture(t)
	ctx := context.Background()
	var mu sync.Mutex
	var prepared []string
	late := func(id string, amount int64) *LedgerAttachment {
		a := d.attach(id)
		done := a.Done
		a.Done = nil
		a.Prepare = func() int64 {
			mu.Lock()
			prepared = append(prepared, id)
			mu.Unlock()
			a.Ops = []LedgerOp{{Kind: LedgerCharge, AccountID: f.user, Amount: amount, RequestID: id, Minted: true}}
			a.Done = done
			return amount
		}
		return a
	}
	release := holdWriteLock(t, f.path)
	for i, id := range []string{"p1", "p2", "p3"} {
		c := testCall(id, 1)
		c.AccountID = f.user
		c.Ledger = late(id, int64(10*(i+1)))
		if err := r.Record(c); err != nil {
			t.Fatal(err)
		}
	}
	time.Sleep(50 * time.Millisecond) // the batch waits for the lock, prepared already
	release()
	if err := r.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	mu.Lock()
	if got := strings.Join(prepared, " "); got != "p1 p2 p3" {
		t.Errorf("prepared %q, want each call once, in order", got)
	}
	mu.Unlock()
	for i, id := range []string{"p1", "p2", "p3"} {
		if res := d.got[id]; d.errs[id] != nil || len(res) != 1 || !res[0].Applied {
			t.Errorf("%s: Done(%+v, %v), want applied", id, res, d.errs[id])
		}
		calls, err := f.s.Calls(ctx, CallFilter{RequestID: id})
		if err != nil || len(calls) != 1 || calls[0].Credits != int64(10*(i+1)) {
			t.Errorf("%s: record %+v, %v; want its prepared credits", id, calls, err)
		}
	}
	if b := f.balances(t); b[0] != 940 {
		t.Errorf("user balance %d, want 1000-10-20-30", b[0])
	}

	bad := testCall("bad", 1)
	bad.Status = "nonsense"
	bad.Ledger = late("bad", 5)
	if err := r.Record(bad); err == nil {
		t.Fatal("invalid call recorded")
	}
	late("gone", 7).Abandon()
	mu.Lock()
	if got := strings.Join(prepared[3:], " "); got != "bad gone" {
		t.Errorf("prepared %q before not recorded, want bad gone", got)
	}
	mu.Unlock()
	for _, id := range []string{"bad", "gone"} {
		if !errors.Is(d.errs[id], ErrNotRecorded) || d.got[id] != nil {
			t.Errorf("%s: Done(%v, %v), want ErrNotRecorded", id, d.got[id], d.errs[id])
		}
	}
	verifyClean(t, f.s)
}
