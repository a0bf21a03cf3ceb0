package billing

import (
	"context"
	"fmt"
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
