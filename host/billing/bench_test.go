package billing

import (
	"context"
	"strconv"
	"testing"
	"time"

	"github.com/aignehub/hub/host/proxy"
	"github.com/aignehub/hub/plugins"
	"github.com/aignehub/hub/runtime"
	"github.com/aignehub/hub/sdk/abi"
)

// BenchmarkBilledCall is billing's cost per call in batched durability:
// quote and settle through the real credits plugin (Wasm), the in-memory
// hold, and the ledger writer's charge (group-committed in the
// background, so its cost shows as CPU, not latency).
func BenchmarkBilledCall(b *testing.B) {
	wasm, err := plugins.Builtin("credits")
	if err != nil {
		b.Skip("credits plugin not built (make plugins):", err)
	}
	ctx := context.Background()
	pol, err := runtime.Load(ctx, runtime.Options{Name: "credits", Wasm: wasm, Trusted: true, Deadline: time.Second})
	if err != nil {
		b.Fatal(err)
	}
	defer pol.Close(ctx)
	e := setup(b, pol, false, 1_000_000_000_000)
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
