package billing

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aignehub/hub/host/proxy"
	"github.com/aignehub/hub/sdk/abi"
	"github.com/aignehub/hub/store"
)

// fixedPolicy holds `hold` and charges `amount` (or fails to settle).
type fixedPolicy struct {
	hold, amount int64
	failSettle   bool
	settles      atomic.Int64
}

func (p *fixedPolicy) Quote(_ context.Context, in *abi.QuoteIn) (abi.QuoteOut, error) {
	if !in.Rate.Found {
		return abi.QuoteOut{Code: abi.CodeUnpricedModel}, nil
	}
	return abi.QuoteOut{Allow: true, Hold: p.hold}, nil
}

func (p *fixedPolicy) Settle(_ context.Context, in *abi.SettleIn) (abi.SettleOut, error) {
	p.settles.Add(1)
	if p.failSettle {
		return abi.SettleOut{}, errors.New("policy bug")
	}
	return abi.SettleOut{Amount: p.amount, Items: []abi.LineItem{{Name: "all", Quantity: 1, Amount: p.amount}}}, nil
}

type env struct {
	st   *store.Store
	b    *Biller
	acct int64
	path string
}

func setup(t testing.TB, pol Policy, strict bool, balance int64) *env {
	t.Helper()
	return setupOpts(t, Options{Policy: pol, Strict: strict}, balance)
}

// setupOpts is setup with the Biller's options (Store and PollInterval are
// set here).
func setupOpts(t testing.TB, opts Options, balance int64) *env {
	t.Helper()
	path := filepath.Join(t.TempDir(), "hub.db")
	st, err := store.Open(context.Background(), path, store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	ctx := context.Background()
	a, err := st.EnsureAccount(ctx, "acct")
	if err != nil {
		t.Fatal(err)
	}
	if balance > 0 {
		if _, err := st.Grant(ctx, a.ID, balance, "", time.Time{}); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := st.SetModelRate(ctx, store.ModelRate{Model: "m", InputPerM: 1}); err != nil {
		t.Fatal(err)
	}
	opts.Store, opts.PollInterval = st, 20*time.Millisecond
	b := New(opts)
	if err := b.LoadRates(ctx); err != nil {
		t.Fatal(err)
	}
	go b.Run(context.Background())
	t.Cleanup(func() { b.Close(context.Background()) })
	return &env{st: st, b: b, acct: a.ID, path: path}
}

var target = proxy.Target{Provider: &proxy.Provider{Name: "p"}, Model: "m"}

func (e *env) call(id string) *proxy.Call {
	return &proxy.Call{RequestID: id, API: abi.APIChatCompletions, Model: "m", Body: []byte(`{}`), Key: store.APIKey{ID: 1, AccountID: e.acct}}
}

func (e *env) balance(t *testing.T) int64 {
	t.Helper()
	bs, err := e.st.Balances(context.Background(), []int64{e.acct})
	if err != nil {
		t.Fatal(err)
	}
	return bs[e.acct].Balance
}

func TestConcurrentHoldsNeverOverdraw(t *testing.T) {
	for _, strict := range []bool{false, true} {
		e := setup(t, &fixedPolicy{hold: 10, amount: 10}, strict, 500)
		var ok atomic.Int64
		var wg sync.WaitGroup
		var charges sync.Map
		for i := range 200 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				ch, _, err := e.b.Begin(context.Background(), e.call("r"+string(rune('A'+i%26))+string(rune('a'+i/26))), []proxy.Target{target})
				if err == nil {
					ok.Add(1)
					charges.Store(i, ch)
				} else if err.Status != 402 {
					t.Errorf("refusal %v", err)
				}
			}()
		}
		wg.Wait()
		if ok.Load() != 50 {
			t.Fatalf("strict=%v: %d holds of 10 on a balance of 500", strict, ok.Load())
		}
		charges.Range(func(_, v any) bool {
			v.(proxy.Charge).Settle(context.Background(), target, abi.Usage{}, false, false)
			return true
		})
		e.b.Close(context.Background())
		if b := e.balance(t); b != 0 {
			t.Fatalf("balance %d", b)
		}
		if r, _ := e.st.VerifyLedger(context.Background()); len(r.Problems) > 0 || r.OpenHolds != 0 {
			t.Fatalf("verify %+v", r)
		}
	}
}

func TestSettleCapturesAndReleases(t *testing.T) {
	for _, tt := range []struct {
		name              string
		hold, amount      int64
		failSettle        bool
		wantCharged       int64
		wantBalance       int64
		wantCapture, want int64
	}{
		{name: "under the hold", hold: 100, amount: 30, wantCharged: 30, wantBalance: 970},
		{name: "over the hold: the excess is charged", hold: 100, amount: 130, wantCharged: 130, wantBalance: 870},
		{name: "over what is left: capped at zero", hold: 100, amount: 5000, wantCharged: 1000, wantBalance: 0},
		{name: "policy fails: nothing charged", hold: 100, amount: 30, failSettle: true, wantCharged: 0, wantBalance: 1000},
	} {
		t.Run(tt.name, func(t *testing.T) {
			e := setup(t, &fixedPolicy{hold: tt.hold, amount: tt.amount, failSettle: tt.failSettle}, true, 1000)
			ch, _, aerr := e.b.Begin(context.Background(), e.call("req"), []proxy.Target{target})
			if aerr != nil {
				t.Fatal(aerr)
			}
			if b := e.balance(t); b != 1000-tt.hold {
				t.Fatalf("strict: hold not committed at Begin: balance %d", b)
			}
			got, err := ch.Settle(context.Background(), target, abi.Usage{InputTokens: 1}, false, false)
			if err != nil || got != tt.wantCharged {
				t.Fatalf("charged %d (%v), want %d", got, err, tt.wantCharged)
			}
			e.b.Close(context.Background())
			if b := e.balance(t); b != tt.wantBalance {
				t.Fatalf("balance %d, want %d", b, tt.wantBalance)
			}
			if r, _ := e.st.VerifyLedger(context.Background()); len(r.Problems) > 0 || r.OpenHolds != 0 {
				t.Fatalf("verify %+v", r)
			}
		})
	}
}

func TestReleaseAndUnpriced(t *testing.T) {
	e := setup(t, &fixedPolicy{hold: 100}, false, 1000)
	ch, _, aerr := e.b.Begin(context.Background(), e.call("req"), []proxy.Target{target})
	if aerr != nil {
		t.Fatal(aerr)
	}
	ch.Release(context.Background())
	unpriced := proxy.Target{Provider: &proxy.Provider{Name: "p"}, Model: "nope"}
	_, _, aerr = e.b.Begin(context.Background(), e.call("req2"), []proxy.Target{unpriced})
	if aerr == nil || aerr.Status != 400 || aerr.Code != "unpriced_model" {
		t.Fatalf("unpriced: %v", aerr)
	}
	// An unpriced fallback is dropped, the priced target kept.
	_, ts, aerr := e.b.Begin(context.Background(), e.call("req3"), []proxy.Target{unpriced, target})
	if aerr != nil || len(ts) != 1 || ts[0].Model != "m" {
		t.Fatalf("targets %v, %v", ts, aerr)
	}
	// Batched: req3's hold is in memory only: spendable balance 900, the
	// ledger untouched.
	if v, _ := e.b.Balance(context.Background(), e.acct); v != 900 {
		t.Fatalf("balance view %d", v)
	}
	e.b.Close(context.Background())
	if b := e.balance(t); b != 1000 {
		t.Fatalf("ledger balance %d", b)
	}
}

// A grant made by another process (the CLI) is folded into the running
// biller's view of the balance.
func TestExternalGrantIsNoticed(t *testing.T) {
	e := setup(t, &fixedPolicy{hold: 100, amount: 100}, false, 50)
	if _, _, aerr := e.b.Begin(context.Background(), e.call("a"), []proxy.Target{target}); aerr == nil || aerr.Status != 402 {
		t.Fatalf("want 402, got %v", aerr)
	}
	other, err := store.Open(context.Background(), e.path, store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := other.Grant(context.Background(), e.acct, 1000, "cli", time.Time{}); err != nil {
		t.Fatal(err)
	}
	other.Close()
	deadline := time.Now().Add(3 * time.Second)
	for {
		if b, _ := e.b.Balance(context.Background(), e.acct); b == 1050 {
			break
		}
		if time.Now().After(deadline) {
			b, _ := e.b.Balance(context.Background(), e.acct)
			t.Fatalf("balance view %d after an external grant of 1000 on 50", b)
		}
		time.Sleep(10 * time.Millisecond)
	}
	if _, _, aerr := e.b.Begin(context.Background(), e.call("b"), []proxy.Target{target}); aerr != nil {
		t.Fatalf("after the grant: %v", aerr)
	}
}

func TestRecoverReleasesOpenHolds(t *testing.T) {
	e := setup(t, &fixedPolicy{hold: 100}, true, 1000)
	if _, _, aerr := e.b.Begin(context.Background(), e.call("crashed"), []proxy.Target{target}); aerr != nil {
		t.Fatal(aerr)
	}
	e.b.Close(context.Background()) // the "crash": the hold is never settled
	b2 := New(Options{Store: e.st, Policy: &fixedPolicy{}})
	n, err := b2.Recover(context.Background())
	if err != nil || n != 1 {
		t.Fatalf("recovered %d, %v", n, err)
	}
	if b := e.balance(t); b != 1000 {
		t.Fatalf("balance %d after recovery", b)
	}
}

// quoteRecorder allows every call and keeps the quote inputs it saw.
type quoteRecorder struct {
	mu  sync.Mutex
	ins []abi.QuoteIn
}

func (p *quoteRecorder) Quote(_ context.Context, in *abi.QuoteIn) (abi.QuoteOut, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.ins = append(p.ins, *in)
	return abi.QuoteOut{Allow: true}, nil
}

func (p *quoteRecorder) Settle(context.Context, *abi.SettleIn) (abi.SettleOut, error) {
	return abi.SettleOut{}, nil
}

// TestQuoteInputs: the output limit quoted is the one the server read
// (Call.Limits) when it read it, else the body's, else the default; images
// are read from an image request's body.
func TestQuoteInputs(t *testing.T) {
	pol := &quoteRecorder{}
	e := setupOpts(t, Options{Policy: pol, DefaultMaxOutputTokens: 4096}, 1000)
	for i, tt := range []struct {
		api            string
		body           string
		limits         proxy.Limits
		maxOut, images int64
	}{
		{abi.APIChatCompletions, `{"messages":[]}`, proxy.Limits{Known: true, MaxOutputTokens: 300}, 300, 0}, // as the server read it
		{abi.APIChatCompletions, `{}`, proxy.Limits{Known: true}, 4096, 0},
		{abi.APIChatCompletions, `{"max_tokens":300,"max_completion_tokens":200}`, proxy.Limits{}, 200, 0},
		{abi.APIChatCompletions, `{"max_tokens":300}`, proxy.Limits{}, 300, 0},
		{abi.APIChatCompletions, `{}`, proxy.Limits{}, 4096, 0},
		{abi.APIImages, `{"n":3}`, proxy.Limits{}, 0, 3},
		{abi.APIEmbeddings, `{"input":"x"}`, proxy.Limits{}, 0, 0},
	} {
		c := e.call(fmt.Sprint("q", i))
		c.API, c.Body, c.Limits = tt.api, []byte(tt.body), tt.limits
		ch, _, aerr := e.b.Begin(context.Background(), c, []proxy.Target{target})
		if aerr != nil {
			t.Fatal(aerr)
		}
		ch.Release(context.Background())
		in := pol.ins[len(pol.ins)-1]
		if in.MaxOutputTokens != tt.maxOut || in.Images != tt.images || in.EstInputTokens != (int64(len(tt.body))+2)/3 {
			t.Errorf("%s %s %+v: quoted max output %d, images %d, input %d; want %d, %d, %d", tt.api, tt.body, tt.limits,
				in.MaxOutputTokens, in.Images, in.EstInputTokens, tt.maxOut, tt.images, (len(tt.body)+2)/3)
		}
	}
}
