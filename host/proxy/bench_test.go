package proxy

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/aignehub/hub/runtime"
	"github.com/aignehub/hub/sdk/abi"
)

// buildOpenAI builds plugins/openai for wasip1 from source.
func buildOpenAI(tb testing.TB) []byte {
	tb.Helper()
	wasm := filepath.Join(tb.TempDir(), "openai.wasm")
	cmd := exec.Command("go", "build", "-buildmode=c-shared", "-o", wasm, "./plugins/openai")
	cmd.Dir = "../.."
	cmd.Env = append(os.Environ(), "GOOS=wasip1", "GOARCH=wasm")
	if out, err := cmd.CombinedOutput(); err != nil {
		tb.Fatalf("build: %v\n%s", err, out)
	}
	bin, err := os.ReadFile(wasm)
	if err != nil {
		tb.Fatal(err)
	}
	return bin
}

// loadOpenAI loads the real openai.wasm, trusted or not.
func loadOpenAI(b *testing.B, trusted bool) *runtime.Plugin {
	b.Helper()
	p, err := runtime.Load(context.Background(), runtime.Options{Name: "openai", Wasm: buildOpenAI(b), Trusted: trusted})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { p.Close(context.Background()) })
	return p
}

// BenchmarkPluginRequest is the request transform of the real openai.wasm
// on the fixture's all-features request (about 1.4 KB).
func BenchmarkPluginRequest(b *testing.B) {
	body, err := os.ReadFile("testdata/chat-completions.stream-tools.request.json")
	if err != nil {
		b.Fatal(err)
	}
	for _, trusted := range []bool{true, false} {
		name := map[bool]string{true: "trusted", false: "untrusted"}[trusted]
		b.Run(name, func(b *testing.B) {
			p := loadOpenAI(b, trusted)
			in := &abi.RequestIn{API: abi.APIChatCompletions, Model: "gpt-4o-mini", Flags: abi.FlagStream, RequestID: "req_1", Body: body}
			ctx := context.Background()
			b.SetBytes(int64(len(body)))
			b.ReportAllocs()
			for b.Loop() {
				if _, err := p.Request(ctx, in); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkPluginStreamEvent is one stream event (a content delta chunk of
// the OpenAI fixture) through the real openai.wasm, usage stripped.
func BenchmarkPluginStreamEvent(b *testing.B) {
	chunk := []byte(`{"id":"chatcmpl-jxm7kMGDuGN7W2O6tKcnObwLrexgs","object":"chat.completion.chunk","created":1755137933,"model":"gpt-4o-mini-2024-07-18","service_tier":"default","system_fingerprint":"fp_420015f0c5","choices":[{"index":0,"delta":{"content":"Bon"},"logprobs":null,"finish_reason":null}],"usage":null,"obfuscation":"NkQ9VCYqcraXAw"}`)
	for _, trusted := range []bool{true, false} {
		name := map[bool]string{true: "trusted", false: "untrusted"}[trusted]
		b.Run(name, func(b *testing.B) {
			p := loadOpenAI(b, trusted)
			in := &abi.StreamIn{State: []byte{2}, Events: []abi.Event{{Data: chunk}}}
			ctx := context.Background()
			b.ReportAllocs()
			for b.Loop() {
				out, err := p.StreamEvent(ctx, in)
				if err != nil || len(out.Chunks) != 1 {
					b.Fatal(err, len(out.Chunks))
				}
			}
		})
	}
}

// BenchmarkPluginResponse is the response transform of the real
// openai.wasm on the fixture's non-stream response (usage extracted).
func BenchmarkPluginResponse(b *testing.B) {
	body, err := os.ReadFile("testdata/chat-completions.text.response.json")
	if err != nil {
		b.Fatal(err)
	}
	p := loadOpenAI(b, true)
	in := &abi.ResponseIn{State: []byte{0}, Status: 200, Headers: []abi.Header{{Name: "Content-Type", Value: "application/json"}}, Body: body}
	ctx := context.Background()
	b.SetBytes(int64(len(body)))
	b.ReportAllocs()
	for b.Loop() {
		out, err := p.Response(ctx, in)
		if err != nil || out.Usage == nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkPluginRequestSmall is the request transform on a one-message
// request, the shape the load benchmark sends.
func BenchmarkPluginRequestSmall(b *testing.B) {
	body := []byte(`{"model":"gpt-4o-mini","messages":[{"role":"user","content":"Say hello in French."}]}`)
	p := loadOpenAI(b, true)
	in := &abi.RequestIn{API: abi.APIChatCompletions, Model: "gpt-4o-mini", Body: body}
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		if _, err := p.Request(ctx, in); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkPluginStreamBatch is a whole fixture stream (9 events) handed to
// the real openai.wasm in one call, as the engine does when events arrive
// together; ns/op divided by 9 is the per-event cost.
func BenchmarkPluginStreamBatch(b *testing.B) {
	raw, err := os.ReadFile("testdata/chat-completions.stream-text.response.sse")
	if err != nil {
		b.Fatal(err)
	}
	in := &abi.StreamIn{State: []byte{2}}
	for _, ev := range bytes.Split(bytes.TrimSpace(raw), []byte("\n\n")) {
		in.Events = append(in.Events, abi.Event{Data: bytes.TrimPrefix(ev, []byte("data: "))})
	}
	p := loadOpenAI(b, true)
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		out, err := p.StreamEvent(ctx, in)
		if err != nil || out.Flags&abi.StreamDone == 0 {
			b.Fatal(err)
		}
	}
}
