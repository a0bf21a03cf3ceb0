package proxy

import (
	"bytes"
	"context"
	"testing"

	"github.com/aignehub/hub/runtime"
	"github.com/aignehub/hub/sdk/abi"
)

// The Go SDK must keep a plugin's heap flat however many calls it serves
// (the garbage collector of a wasip1 reactor only runs when an export
// yields): the real openai.wasm serves many calls with 64 KiB bodies and its
// linear memory stops growing after warm-up.
func TestPluginMemoryStaysFlat(t *testing.T) {
	if testing.Short() {
		t.Skip("slow: many plugin calls")
	}
	p, err := runtime.Load(context.Background(), runtime.Options{Name: "openai", Wasm: buildOpenAI(t), Trusted: true, PoolSize: 1, MinIdle: 1})
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close(context.Background())
	body := []byte(`{"model":"m","messages":[{"role":"user","content":"` + string(bytes.Repeat([]byte("x"), 64<<10)) + `"}]}`)
	in := &abi.RequestIn{API: abi.APIChatCompletions, Model: "up", Flags: abi.FlagStream, Body: body}
	ctx := context.Background()
	calls := func(n int) {
		for range n {
			if _, err := p.Request(ctx, in); err != nil {
				t.Fatal(err)
			}
		}
	}
	calls(1000)
	warm := p.Stats().MemoryBytes
	n := 20000
	if raceEnabled {
		n = 5000
	}
	calls(n)
	after := p.Stats().MemoryBytes
	t.Logf("memory after 1k calls: %d KiB; after %d more (%d MiB of bodies): %d KiB", warm>>10, n, n*len(body)>>20, after>>10)
	if after > warm+4<<20 {
		t.Fatalf("plugin memory grew from %d KiB to %d KiB", warm>>10, after>>10)
	}
	if st := p.Stats(); st.Recycled > 0 || st.Discarded > 0 {
		t.Fatalf("the instance was replaced, so the test proves nothing: %+v", st)
	}
}
