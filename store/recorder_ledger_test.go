package store

import (
	"context"
	"errors"
	"sync"
	"testing"
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
