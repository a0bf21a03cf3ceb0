package billing

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aignehub/hub/host/proxy"
	"github.com/aignehub/hub/sdk/abi"
	"github.com/aignehub/hub/store"
)

// settleCarried runs one call through Begin and Settle and returns the
// charge the call record is to carry.
func settleCarried(t *testing.T, e *env, id string) *store.LedgerAttachment {
	t.Helper()
	ctx := context.Background()
	ch, _, aerr := e.b.Begin(ctx, e.call(id), []proxy.Target{target})
	if aerr != nil {
		t.Fatalf("%s: %v", id, aerr)
	}
	if _, err := ch.Settle(ctx, target, abi.Usage{InputTokens: 1}, false, false); err != nil {
		t.Fatal(err)
	}
	a := ch.(proxy.LedgerCarrier).TakeLedger()
	if a == nil {
		t.Fatalf("%s: nothing to carry", id)
	}
	if again := ch.(proxy.LedgerCarrier).TakeLedger(); again != nil {
		t.Fatalf("%s: the charge was handed out twice", id)
	}
	return a
}

func carriedCall(id string, acct int64, a *store.LedgerAttachment) store.Call {
	return store.Call{RequestID: id, API: abi.APIChatCompletions, KeyID: 1, AccountID: acct, Provider: "p", Model: "m",
		Status: store.CallOK, HTTPStatus: 200, Ledger: a}
}

// waitBalance waits until the Biller's view and the database agree on want.
func waitBalance(t *testing.T, e *env, want int64) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		view, _ := e.b.Balance(context.Background(), e.acct)
		db := e.balance(t)
		if view == want && db == want {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("balance: biller %d, database %d; want %d", view, db, want)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// TestRecordCarriesCharges: in batched durability with RecordCarries, the
// charges ride in the call recorder's transactions; a charge whose call is
// not recorded is written by the Biller's own writer; one the ledger
// refuses is given back in memory. Meanwhile another process grants
// credits: the Biller folds them in exactly, though commits of its own
// happen on the recorder's goroutine.
func TestRecordCarriesCharges(t *testing.T) {
	e := setupOpts(t, Options{Policy: &fixedPolicy{hold: 10, amount: 7}, RecordCarries: true}, 1_000_000)
	rec := store.NewRecorder(e.st, store.RecorderOptions{Linger: time.Millisecond})
	defer rec.Close(context.Background())

	other, err := store.Open(context.Background(), e.path, store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer other.Close()

	const workers, calls, grants = 8, 40, 10
	var wg sync.WaitGroup
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range calls {
				id := fmt.Sprintf("w%d-%d", w, i)
				a := settleCarried(t, e, id)
				c := carriedCall(id, e.acct, a)
				if i == 0 {
					c.Status = "bogus" // not recorded: the writer writes the charge
				}
				rec.Record(c)
			}
		}()
	}
	for range grants {
		if _, err := other.Grant(context.Background(), e.acct, 1000, "cli", time.Time{}); err != nil {
			t.Fatal(err)
		}
		time.Sleep(3 * time.Millisecond)
	}
	wg.Wait()
	if err := rec.Flush(context.Background()); err != nil {
		t.Fatal(err)
	}
	waitBalance(t, e, 1_000_000+grants*1000-workers*calls*7)
	if st := rec.Stats(); st.Recorded != workers*(calls-1) {
		t.Errorf("recorded %d calls, want %d", st.Recorded, workers*(calls-1))
	}
	rep, err := e.st.VerifyLedger(context.Background())
	if err != nil || len(rep.Problems) > 0 {
		t.Fatalf("verify: %v %v", rep.Problems, err)
	}
}

// TestCarriedChargeRefused: a carried charge that the ledger refuses (the
// balance was spent by another process meanwhile) is given back in memory,
// and the Biller's view converges on the database.
func TestCarriedChargeRefused(t *testing.T) {
	e := setupOpts(t, Options{Policy: &fixedPolicy{hold: 10, amount: 7}, RecordCarries: true}, 100)
	rec := store.NewRecorder(e.st, store.RecorderOptions{})
	defer rec.Close(context.Background())
	a := settleCarried(t, e, "r1")
	if v, _ := e.b.Balance(context.Background(), e.acct); v != 93 {
		t.Fatalf("view %d after settling 7 of 100, want 93", v)
	}
	other, err := store.Open(context.Background(), e.path, store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := other.Adjust(context.Background(), e.acct, -100, "spent elsewhere"); err != nil {
		t.Fatal(err)
	}
	other.Close()
	if err := rec.Record(carriedCall("r1", e.acct, a)); err != nil {
		t.Fatal(err)
	}
	if err := rec.Flush(context.Background()); err != nil {
		t.Fatal(err)
	}
	waitBalance(t, e, 0)
}

// TestLineItemsAreJSON: the policy names its line items; whatever bytes
// it uses, the ledger detail is valid JSON that decodes to them (invalid
// UTF-8 as U+FFFD), so a name cannot get a charge refused.
func TestLineItemsAreJSON(t *testing.T) {
	names := []string{"input", `quo"te\back`, "ctl\x00\x01\x1f\n\t", "ünï €", "\u2028\u2029", "bad\xff\xfeutf8", ""}
	var items []abi.LineItem
	for i, n := range names {
		items = append(items, abi.LineItem{Name: n, Quantity: int64(i) - 3, Amount: int64(i) * 1_000_000_007})
	}
	b := lineItems(items)
	var got []struct {
		Name     string `json:"name"`
		Quantity int64  `json:"quantity"`
		Amount   int64  `json:"amount"`
	}
	if err := json.Unmarshal(b, &got); err != nil {
		t.Fatalf("%s: %v", b, err)
	}
	for i, it := range items {
		want := validRunes(it.Name)
		if got[i].Name != want || got[i].Quantity != it.Quantity || got[i].Amount != it.Amount {
			t.Errorf("item %d = %+v, want %q %d %d", i, got[i], want, it.Quantity, it.Amount)
		}
	}
}

// validRunes is s with each invalid UTF-8 byte replaced by U+FFFD, as
// encoding/json does.
func validRunes(s string) string {
	var b strings.Builder
	for _, r := range s {
		b.WriteRune(r)
	}
	return b.String()
}

// FuzzLineItems: any name encodes to JSON that decodes to it.
func FuzzLineItems(f *testing.F) {
	f.Add("input", int64(1), int64(2))
	f.Add("\x00\"\\\xff\u2028", int64(-1), int64(0))
	f.Fuzz(func(t *testing.T, name string, q, a int64) {
		var got []abi.LineItem
		var raw []struct {
			Name     string
			Quantity int64
			Amount   int64
		}
		b := lineItems([]abi.LineItem{{Name: name, Quantity: q, Amount: a}})
		if err := json.Unmarshal(b, &raw); err != nil {
			t.Fatalf("%q: %s: %v", name, b, err)
		}
		for _, r := range raw {
			got = append(got, abi.LineItem{Name: r.Name, Quantity: r.Quantity, Amount: r.Amount})
		}
		if len(got) != 1 || got[0].Name != validRunes(name) || got[0].Quantity != q || got[0].Amount != a {
			t.Fatalf("%q → %s → %+v", name, b, got)
		}
	})
}

// versionedPolicy is a Pinner whose serving version a test can swap: each
// version charges its own amount and counts its pins.
type versionedPolicy struct {
	mu     sync.Mutex
	cur    *fixedPolicy
	pinned map[*fixedPolicy]int
}

func (v *versionedPolicy) Quote(ctx context.Context, in *abi.QuoteIn) (abi.QuoteOut, error) {
	panic("the Biller must quote through the pinned version")
}

func (v *versionedPolicy) Settle(ctx context.Context, in *abi.SettleIn) (abi.SettleOut, error) {
	panic("the Biller must settle through the pinned version")
}

func (v *versionedPolicy) Pin() (Policy, func()) {
	v.mu.Lock()
	defer v.mu.Unlock()
	p := v.cur
	v.pinned[p]++
	return p, func() {
		v.mu.Lock()
		defer v.mu.Unlock()
		v.pinned[p]--
	}
}

func (v *versionedPolicy) swap(p *fixedPolicy) {
	v.mu.Lock()
	defer v.mu.Unlock()
	v.cur = p
}

func (v *versionedPolicy) pins(p *fixedPolicy) int {
	v.mu.Lock()
	defer v.mu.Unlock()
	return v.pinned[p]
}

// TestPolicyPinnedPerCall: a call is quoted and settled by the policy
// version serving when it began, even if the policy is swapped (a plugin
// reload) in between; the version is let go once the call is settled or
// released, and by a refused call at once.
func TestPolicyPinnedPerCall(t *testing.T) {
	v1, v2 := &fixedPolicy{hold: 100, amount: 11}, &fixedPolicy{hold: 100, amount: 22}
	vp := &versionedPolicy{cur: v1, pinned: map[*fixedPolicy]int{}}
	e := setupOpts(t, Options{Policy: vp}, 1000)
	ctx := context.Background()
	settled, _, aerr := e.b.Begin(ctx, e.call("a"), []proxy.Target{target})
	if aerr != nil {
		t.Fatal(aerr)
	}
	released, _, aerr := e.b.Begin(ctx, e.call("b"), []proxy.Target{target})
	if aerr != nil {
		t.Fatal(aerr)
	}
	if vp.pins(v1) != 2 {
		t.Fatalf("%d calls hold version 1, want 2", vp.pins(v1))
	}
	vp.swap(v2)
	amount, err := settled.Settle(ctx, target, abi.Usage{InputTokens: 1}, false, false)
	if err != nil || amount != 11 || v1.settles.Load() != 1 || v2.settles.Load() != 0 {
		t.Fatalf("settled %d, %v by v1 %d times and v2 %d times; want 11 by the version that quoted", amount, err,
			v1.settles.Load(), v2.settles.Load())
	}
	released.Release(ctx)
	if vp.pins(v1) != 0 {
		t.Fatalf("version 1 still held by %d calls after they ended", vp.pins(v1))
	}
	// A call refused by the balance holds nothing.
	e2 := setupOpts(t, Options{Policy: vp}, 10)
	if _, _, aerr := e2.b.Begin(ctx, e2.call("c"), []proxy.Target{target}); aerr == nil || aerr.Status != 402 {
		t.Fatalf("want 402, got %v", aerr)
	}
	if vp.pins(v2) != 0 {
		t.Fatalf("a refused call left version 2 held %d times", vp.pins(v2))
	}
	amount, err = func() (int64, error) {
		ch, _, aerr := e.b.Begin(ctx, e.call("d"), []proxy.Target{target})
		if aerr != nil {
			t.Fatal(aerr)
		}
		return ch.Settle(ctx, target, abi.Usage{InputTokens: 1}, false, false)
	}()
	if err != nil || amount != 22 || vp.pins(v2) != 0 {
		t.Fatalf("a call begun after the swap: %d, %v, %d pins; want 22 by version 2", amount, err, vp.pins(v2))
	}
}

// TestSettleLater: a charge settled late is priced, charged and written
// when the recorder writes its call — the record's credits included —
// exactly as if it had been settled at once; until then its hold is held.
// Strict durability settles at once. A call refused for want of credit
// held by finished calls waits for their late settlements instead.
func TestSettleLater(t *testing.T) {
	ctx := context.Background()
	pol := &fixedPolicy{hold: 100, amount: 30}
	e := setupOpts(t, Options{Policy: pol, RecordCarries: true}, 150)
	rec := store.NewRecorder(e.st, store.RecorderOptions{Linger: time.Hour, Logger: slog.New(slog.DiscardHandler)})
	defer rec.Close(ctx)
	e.b.opts.FlushRecords = rec.Flush

	ch, _, aerr := e.b.Begin(ctx, e.call("late-1"), []proxy.Target{target})
	if aerr != nil {
		t.Fatal(aerr)
	}
	if !ch.(proxy.LateSettler).SettleLater(target, abi.Usage{InputTokens: 5, OutputTokens: 7}, false, false) {
		t.Fatal("SettleLater refused in batched durability")
	}
	if pol.settles.Load() != 0 {
		t.Fatal("the policy settled at SettleLater")
	}
	if bal, _ := e.b.Balance(ctx, e.acct); bal != 50 {
		t.Fatalf("available %d before the record is written, want 150-100 held", bal)
	}
	a := ch.(proxy.LedgerCarrier).TakeLedger()
	if a == nil || a.Prepare == nil {
		t.Fatalf("attachment %+v, want one to prepare", a)
	}
	if err := rec.Record(carriedCall("late-1", e.acct, a)); err != nil {
		t.Fatal(err)
	}
	// The recorder lingers an hour: only the second call's Begin, short of
	// credit, makes it write (and settle) the first.
	ch2, _, aerr := e.b.Begin(ctx, e.call("late-2"), []proxy.Target{target})
	if aerr != nil {
		t.Fatalf("second call refused (%v): the late settlement was not waited for", aerr)
	}
	if pol.settles.Load() != 1 {
		t.Fatalf("%d settlements, want the first call's", pol.settles.Load())
	}
	calls, err := e.st.Calls(ctx, store.CallFilter{RequestID: "late-1"})
	if err != nil || len(calls) != 1 || calls[0].Credits != 30 {
		t.Fatalf("record %+v, %v; want credits 30", calls, err)
	}
	es, err := e.st.LedgerEntries(ctx, store.LedgerFilter{RequestID: "late-1"})
	if err != nil || len(es) != 1 || es[0].Amount != -30 || es[0].Kind != store.LedgerCharge {
		t.Fatalf("ledger %+v, %v; want the user leg of a charge of 30", es, err)
	}
	ch2.Release(ctx)
	waitBalance(t, e, 120)

	// A call not recorded is settled all the same, by the Biller's writer.
	ch3, _, aerr := e.b.Begin(ctx, e.call("late-3"), []proxy.Target{target})
	if aerr != nil || !ch3.(proxy.LateSettler).SettleLater(target, abi.Usage{InputTokens: 1}, false, true) {
		t.Fatal("third call", aerr)
	}
	ch3.(proxy.LedgerCarrier).TakeLedger().Abandon()
	if pol.settles.Load() != 2 {
		t.Fatalf("%d settlements, want 2", pol.settles.Load())
	}
	if err := e.b.Close(ctx); err != nil {
		t.Fatal(err)
	}
	waitBalance(t, e, 90)
	if r, err := e.st.VerifyLedger(ctx); err != nil || len(r.Problems) > 0 || r.OpenHolds != 0 {
		t.Fatalf("verify %+v, %v", r, err)
	}

	// Strict durability: settled at once, never late.
	s := setupOpts(t, Options{Policy: &fixedPolicy{hold: 10, amount: 3}, Strict: true, RecordCarries: true}, 100)
	chs, _, aerr := s.b.Begin(ctx, s.call("strict"), []proxy.Target{target})
	if aerr != nil {
		t.Fatal(aerr)
	}
	if chs.(proxy.LateSettler).SettleLater(target, abi.Usage{InputTokens: 1}, false, false) {
		t.Fatal("SettleLater accepted in strict durability")
	}
	chs.Release(ctx)
}
