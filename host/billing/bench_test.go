package billing

import (
	"context"
	"fmt"
	"strconv"
	"testing"
	"time"

	"github.com/aignehub/hub/host/proxy"
	"github.com/aignehub/hub/plugins"
	"github.com/aignehub/hub/runtime"
	"github.com/aignehub/hub/sdk/abi"
	"github.com/aignehub/hub/store"
)

// creditsPolicy loads the built-in credits plugin, closed when b ends.
func creditsPolicy(b *testing.B) *runtime.Plugin {
	wasm, err := plugins.Builtin("credits")
	if err != nil {
		b.Skip("credits plugin not built (make plugins):", err)
	}
	ctx := context.Background()
	pol, err := runtime.Load(ctx, runtime.Options{Name: "credits", Wasm: wasm, Trusted: true, Deadline: time.Second})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { pol.Close(ctx) })
	return pol
}

// BenchmarkBilledCall is billing's cost per call in batched durability:
// quote and settle through the real credits plugin (Wasm), the in-memory
// hold, and the ledger writer's charge (group-committed in the
// background, so its cost shows as CPU, not latency).
func BenchmarkBilledCall(b *testing.B) {
	ctx := context.Background()
	e := setupOpts(b, Options{Policy: creditsPolicy(b)}, 1_000_000_000_000)
	e.b.opts.Linger = 20 * time.Millisecond
	u := abi.Usage{InputTokens: 30, OutputTokens: 40}
	b.ReportAllocs()
	b.ResetTimer()
	for i := range b.N {
		c := e.call("bench-" + strconv.Itoa(i))
		c.Body = []byte(`{"model":"m","messages":[{"role":"user","content":"Say hello in French."}]}`)
		ch, _, aerr := e.b.Begin(ctx, c, []proxy.Target{target})
		if aerr != nil {
			b.Fatal(aerr)
		}
		if _, err := ch.Settle(ctx, target, u, false, false); err != nil {
			b.Fatal(err)
		}
	}
	e.b.Close(ctx) // every charge written: part of the cost
}

// BenchmarkBilledCallRecorded is BenchmarkBilledCall as the hub runs it:
// each call's charge is carried by its call record and committed in the
// call recorder's transaction (Options.RecordCarries), so the cost is the
// policy's two calls, the in-memory hold and the ledger rows, with no
// transaction of billing's own. The call records are part of the cost.
func BenchmarkBilledCallRecorded(b *testing.B) {
	ctx := context.Background()
	e := setupOpts(b, Options{Policy: creditsPolicy(b), RecordCarries: true}, 1_000_000_000_000)
	rec := store.NewRecorder(e.st, store.RecorderOptions{})
	u := abi.Usage{InputTokens: 30, OutputTokens: 40}
	body := []byte(`{"model":"m","messages":[{"role":"user","content":"Say hello in French."}]}`)
	b.ReportAllocs()
	b.ResetTimer()
	for i := range b.N {
		// Time-ordered ids, like the server's.
		id := fmt.Sprintf("req_%012x%020d", time.Now().UnixMilli(), i)
		c := e.call(id)
		c.Body = body
		ch, _, aerr := e.b.Begin(ctx, c, []proxy.Target{target})
		if aerr != nil {
			b.Fatal(aerr)
		}
		amount, err := ch.Settle(ctx, target, u, false, false)
		if err != nil {
			b.Fatal(err)
		}
		r := store.Call{RequestID: id, API: c.API, KeyID: 1, AccountID: e.acct, Provider: "p", Model: "m", Status: store.CallOK,
			HTTPStatus: 200, PromptTokens: 30, CompletionTokens: 40, Credits: amount, Ledger: ch.(proxy.LedgerCarrier).TakeLedger()}
		if err := rec.Record(r); err != nil {
			b.Fatal(err)
		}
	}
	if err := rec.Close(ctx); err != nil { // every call and charge written: part of the cost
		b.Fatal(err)
	}
}
