package runtime

import (
	"context"
	"testing"

	"github.com/aignehub/hub/sdk/abi"
)

var benchRequest = &abi.RequestIn{
	API:   abi.APIChatCompletions,
	Model: "echo",
	Body:  []byte(`{"model":"gpt-4o-mini","messages":[{"role":"user","content":"Say hi"}],"stream":true}`),
}

func benchEcho(b *testing.B, trusted bool) {
	p := loadBehaviour(b, Options{Trusted: trusted, PoolSize: 1})
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		if _, err := p.Request(ctx, benchRequest); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkCallEcho is one hub_request round trip on a trusted Go plugin:
// encode, hub_alloc, write, call, copy out, decode.
func BenchmarkCallEcho(b *testing.B) { benchEcho(b, true) }

// BenchmarkCallEchoUntrusted is the same with WithCloseOnContextDone.
func BenchmarkCallEchoUntrusted(b *testing.B) { benchEcho(b, false) }

func benchMini(b *testing.B, trusted bool) {
	ctx := context.Background()
	p, err := Load(ctx, Options{Name: "mini", Wasm: miniModule(miniManifest), Logger: quiet, Trusted: trusted})
	if err != nil {
		b.Fatal(err)
	}
	defer p.Close(ctx)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := p.Request(ctx, benchRequest); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkCallMini measures the host's own per-call cost: the guest is a
// hand-assembled module without loops that returns a static result.
func BenchmarkCallMini(b *testing.B) { benchMini(b, true) }

// BenchmarkCallMiniUntrusted is the host's fixed cost of an untrusted call:
// a deadline context and wazero's watcher goroutine per guest call (two:
// hub_alloc and the export), without any loop-header checks.
func BenchmarkCallMiniUntrusted(b *testing.B) { benchMini(b, false) }

func benchLoad(b *testing.B, warm bool) {
	ctx := context.Background()
	wasm := guestWasm(b, "behaviour")
	load := func(dir string) {
		cache, err := NewCache(dir)
		if err != nil {
			b.Fatal(err)
		}
		p, err := Load(ctx, Options{Name: "bench", Wasm: wasm, Cache: cache, Logger: quiet})
		if err != nil {
			b.Fatal(err)
		}
		if err := p.Close(ctx); err != nil {
			b.Fatal(err)
		}
		cache.Close(ctx)
	}
	dir := b.TempDir()
	if warm {
		load(dir)
	}
	b.ReportAllocs()
	for b.Loop() {
		if !warm {
			dir = b.TempDir()
		}
		load(dir)
	}
}

// BenchmarkLoadCold is Load+Close of the behaviour module with an empty file
// cache: decode, compile, validate, instantiate, describe.
func BenchmarkLoadCold(b *testing.B) { benchLoad(b, false) }

// BenchmarkLoadWarmCache is the same with the file cache already holding
// the compiled module (a new cache object each time, as after a restart).
func BenchmarkLoadWarmCache(b *testing.B) { benchLoad(b, true) }
