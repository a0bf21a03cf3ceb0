package main

import (
	"bytes"
	"fmt"
	"strings"
	"sync"
	"testing"

	"github.com/aignehub/hub/plugins/internal/plugintest"
	"github.com/aignehub/hub/sdk/abi"
	"github.com/aignehub/hub/sdk/oai"
	"github.com/aignehub/hub/sdk/provider"
)

// The fast path (fast.go) must read every line it accepts exactly as
// readLine does, and the chunks must not depend on which reader ran.

// fastCases are lines and whether scanLine must take them.
var fastCases = []struct {
	fast bool
	data string
}{
	{true, `{"model":"llama3.2","created_at":"2025-10-26T17:15:24.109172Z","message":{"role":"assistant","content":"jour"},"done":false}`},
	{true, `{"model":"qwen3:8b","created_at":"2025-10-26T17:30:01.100201Z","message":{"role":"assistant","content":"","thinking":"221 = 13"},"done":false}`},
	{true, `{"model":"qwen3:8b","created_at":"x","message":{"role":"assistant","content":"a","thinking":"b"},"done":false}`},
	{true, `{"model":"","created_at":"","message":{"role":"assistant","content":""},"done":false}`},
	{true, `{"model":"m","created_at":"t","message":{"role":"assistant","content":"\u00e9\n\"q\" \\ \/ é 😀 \ud83d\ude00 \u2028 0123456789abcdefghij","thinking":""},"done":false}`},
	{true, "{\"model\":\"m\u00e9\xff\",\"created_at\":\"t\",\"message\":{\"role\":\"assistant\",\"content\":\"x\"},\"done\":false}"},
	// What only gjson reads (or reads as an error).
	{false, `{"model":"llama3.2","created_at":"2025-10-26T17:15:24.143931Z","message":{"role":"assistant","content":""},"done":true,"done_reason":"stop","total_duration":183920125,"prompt_eval_count":36,"eval_count":5}`},
	{false, `{"model":"llama3.2","created_at":"t","message":{"role":"assistant","content":"","tool_calls":[{"function":{"name":"f","arguments":{}}}]},"done":false}`},
	{false, `{"error":"an error was encountered while running the model"}`},
	{false, `{"model":"m","created_at":"t","message":{"role":"assistant","content":"x"},"done":false,"done":true}`},
	{false, `{"model":"m","created_at":"t","message":{"role":"assistant","content":"x","content":"y"},"done":false}`},
	{false, `{"model":"m\u0031","created_at":"t","message":{"role":"assistant","content":"x"},"done":false}`},
	{false, `{"model":"m","created_at":"t","message":{"role":"user","content":"x"},"done":false}`},
	{true, "\r\n" + `{"model":"m","created_at":"t","message":{"role":"assistant","content":"x"},"done":false} `}, // StreamEvent trims
	{false, `{"model":"m","created_at":"t","message":{"role":"assistant","content":"x"},"done":false}}`},
	{false, `{"model": "m","created_at":"t","message":{"role":"assistant","content":"x"},"done":false}`},
	{false, `{"model":"m","created_at":"t","message":{"role":"assistant","content":"x","images":null},"done":false}`},
	{false, `{"model":"m","created_at":"t","message":{"role":"assistant","content":5},"done":false}`},
	{false, `{"model":"m","created_at":"t","message":{"role":"assistant","content":null},"done":false}`},
	{false, "{\"model\":\"m\",\"created_at\":\"t\",\"message\":{\"role\":\"assistant\",\"content\":\"a\x01\"},\"done\":false}"},
	{false, "{\"model\":\"m\",\"created_at\":\"t\",\"message\":{\"role\":\"assistant\",\"content\":\"a\xff\"},\"done\":false}"},
	{false, `{"model":"m","created_at":"t","message":{"role":"assistant","content":"a\q"},"done":false}`},
	{false, `{"model":"m","created_at":"t","message":{"role":"assistant","content":"a\u00"},"done":false}`},
	{false, `{"model":"m","created_at":"t","message":{"role":"assistant","content":"a"`},
	{false, `{"model":5,"created_at":"t","message":{"role":"assistant","content":"x"},"done":false}`},
	{false, `{"model":"m"`},
	{false, `[1]`},
	{false, `data: {}`},
}

// fastCorpus is fastCases' lines and every line of the stream fixtures.
func fastCorpus(tb testing.TB) []string {
	var lines []string
	for _, c := range fastCases {
		lines = append(lines, c.data)
	}
	for _, name := range []string{"chat-stream.response.ndjson", "chat-stream-tools.response.ndjson", "chat-stream-thinking.response.ndjson", "chat-stream-error.response.ndjson"} {
		for _, l := range strings.Split(string(plugintest.Fixture(tb, name)), "\n") {
			if l != "" {
				lines = append(lines, l)
			}
		}
	}
	return lines
}

// describe renders what a reader made of a line.
func describe(l *line, err error) string {
	if err != nil {
		return "error " + err.Error()
	}
	return fmt.Sprintf("model=%q created_at=%q content=%s thinking=%s tools=%s done=%v reason=%q usage=%d/%d error=%s",
		l.model, l.createdAt, l.content, l.thinking, l.toolCalls.Raw, l.done, l.reason, l.input, l.output, l.errv.Raw)
}

// readers runs both readers on data and fails unless scanLine, when it
// accepts the line, reads it as readLine does. It reports whether
// scanLine accepted it.
func readers(t *testing.T, data []byte) bool {
	t.Helper()
	data = bytes.TrimSpace(data)
	if len(data) == 0 {
		return false
	}
	var l line
	if !scanLine(data, &l) {
		return false
	}
	var want line
	err := readLine(data, &want)
	if got, want := describe(&l, nil), describe(&want, err); got != want {
		t.Fatalf("scanLine read %q as\n%s\nreadLine as\n%s", data, got, want)
	}
	return true
}

func TestFastReader(t *testing.T) {
	for _, c := range fastCases {
		if got := readers(t, []byte(c.data)); got != c.fast {
			t.Errorf("scanLine took %s: %v, want %v", c.data, got, c.fast)
		}
	}
	// Every text and thinking line of the fixtures takes the fast path.
	for _, l := range fastCorpus(t)[len(fastCases):] {
		if got, want := readers(t, []byte(l)), strings.Contains(l, `"done":false`) && !strings.Contains(l, "tool_calls"); got != want {
			t.Errorf("scanLine took %s: %v", l, got)
		}
	}
}

// streamRun converts batches of lines as the SDK's dispatcher does: one
// StreamOut reused by every call (so the plugin's buffers are reused too),
// its chunks copied out after each call.
func streamRun(p *plugin, state []byte, batches [][]abi.Event) string {
	var b strings.Builder
	var so abi.StreamOut
	for _, batch := range batches {
		so = abi.StreamOut{State: state, Chunks: so.Chunks[:0]}
		var err error
		for _, ev := range batch {
			if err = p.StreamEvent(ev, &so); err != nil || so.Flags&abi.StreamDone != 0 {
				break
			}
		}
		for _, c := range so.Chunks {
			b.Write(c)
			b.WriteByte('\n')
		}
		fmt.Fprintf(&b, "flags=%d err=%v state=%x\n", so.Flags, err, so.State)
		if so.Usage != nil {
			fmt.Fprintf(&b, "usage=%+v\n", *so.Usage)
		}
		if err != nil || so.Flags&abi.StreamDone != 0 {
			break
		}
		state = append([]byte(nil), so.State...)
	}
	return b.String()
}

// streamStates are a stream's states at its start, for both usage flags,
// and after the role chunk.
func streamStates() [][]byte {
	var sts [][]byte
	for _, flags := range []byte{kindChat | stStream, kindChat | stStream | stWantUsage} {
		sts = append(sts, newState(flags, 1700000000, reqID), newState(flags|stStarted, 1761498924, reqID))
	}
	return sts
}

// TestFastChunks: the chunks of every line of the corpus, alone, twice in
// one call, and in a stream of calls, do not depend on the reader.
func TestFastChunks(t *testing.T) {
	fast, general := newPlugin(nil), newPlugin(nil)
	general.general = true
	// And a line larger than the scratch buffer the plugin keeps.
	lines := append(fastCorpus(t), `{"model":"m","created_at":"t","message":{"role":"assistant","content":"`+strings.Repeat("big ", oai.ScratchMax/3)+`"},"done":false}`)
	for _, st := range streamStates() {
		var all []abi.Event
		for _, l := range lines {
			e := abi.Event{Data: []byte(l)}
			all = append(all, e)
			for _, batches := range [][][]abi.Event{{{e}}, {{e, e}}, {{e}, {e}}} {
				if got, want := streamRun(fast, st, batches), streamRun(general, st, batches); got != want {
					t.Fatalf("line %s:\n%s\ngeneral reader:\n%s", l, got, want)
				}
			}
		}
		var batches [][]abi.Event
		for i, k := 0, 1; i < len(all); i, k = i+k, k%4+1 {
			batches = append(batches, all[i:min(i+k, len(all))])
		}
		if got, want := streamRun(fast, st, batches), streamRun(general, st, batches); got != want {
			t.Fatalf("corpus stream:\n%s\ngeneral reader:\n%s", got, want)
		}
	}
}

// FuzzFastPath: on any line, scanLine reads what readLine reads, and
// StreamEvent's result does not depend on the reader.
func FuzzFastPath(f *testing.F) {
	for _, l := range fastCorpus(f) {
		f.Add([]byte(l), uint8(0))
	}
	fast, general := newPlugin(nil), newPlugin(nil)
	general.general = true
	states := streamStates()
	f.Fuzz(func(t *testing.T, data []byte, sel uint8) {
		readers(t, data)
		st := states[int(sel)%len(states)]
		in := abi.StreamIn{State: st, Events: []abi.Event{{Data: data}, {Data: data}}}
		got := provider.Invoke(fast, abi.ExportStreamEvent, in.Append(nil))
		want := provider.Invoke(general, abi.ExportStreamEvent, in.Append(nil))
		if !bytes.Equal(got, want) {
			t.Fatalf("line %q:\n%q\ngeneral reader:\n%q", data, got, want)
		}
		batches := [][]abi.Event{{{Data: data}}, {{Data: data}}}
		if got, want := streamRun(fast, st, batches), streamRun(general, st, batches); got != want {
			t.Fatalf("line %q:\n%s\ngeneral reader:\n%s", data, got, want)
		}
	})
}

// TestFastConcurrent: natively, calls may run at once (they never do in a
// Wasm instance); each must still get its own buffers.
func TestFastConcurrent(t *testing.T) {
	fast, general := newPlugin(nil), newPlugin(nil)
	general.general = true
	st := streamStates()[3]
	lines := fastCorpus(t)
	want := make([][]byte, len(lines))
	for i, l := range lines {
		in := abi.StreamIn{State: st, Events: []abi.Event{{Data: []byte(l)}, {Data: []byte(l)}}}
		want[i] = provider.Invoke(general, abi.ExportStreamEvent, in.Append(nil))
	}
	var wg sync.WaitGroup
	for g := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for n := range 50 {
				i := (n*7 + g) % len(lines)
				in := abi.StreamIn{State: st, Events: []abi.Event{{Data: []byte(lines[i])}, {Data: []byte(lines[i])}}}
				if got := provider.Invoke(fast, abi.ExportStreamEvent, in.Append(nil)); !bytes.Equal(got, want[i]) {
					t.Errorf("line %s:\n%q\nwant %q", lines[i], got, want[i])
					return
				}
			}
		}()
	}
	wg.Wait()
}

// TestFastMutations: every line of the corpus with any one byte deleted,
// doubled or replaced by a byte that matters to JSON is read by scanLine
// as readLine reads it, or declined.
func TestFastMutations(t *testing.T) {
	for _, l := range fastCorpus(t) {
		for i := 0; i < len(l); i++ {
			mutations := []string{l[:i] + l[i+1:], l[:i] + l[i:i+1] + l[i:]}
			const swaps = "\"\\,:{}[] \n0159-.etfnu\x00\x1f\x7f\xc3\xa9\xff"
			for j := 0; j < len(swaps); j++ {
				mutations = append(mutations, l[:i]+swaps[j:j+1]+l[i+1:])
			}
			for _, m := range mutations {
				readers(t, []byte(m))
			}
		}
	}
}

// BenchmarkNativeStreamEventReused: BenchmarkWasmStreamEvent's line
// through the plugin natively, with one StreamOut reused as the SDK's
// dispatcher reuses it (BenchmarkNativeStreamEvent makes a dispatcher per
// call).
func BenchmarkNativeStreamEventReused(b *testing.B) {
	p := newPlugin(nil)
	st := newState(kindChat|stStream|stStarted, 1761498924, "0193b0e2-6f9e-7c1a-9d4b-3c2e1f0a9b8c")
	ev := abi.Event{Data: typicalEvent}
	var so abi.StreamOut
	b.ReportAllocs()
	for b.Loop() {
		so = abi.StreamOut{State: st, Chunks: so.Chunks[:0]}
		if err := p.StreamEvent(ev, &so); err != nil || len(so.Chunks) != 1 {
			b.Fatal(err, len(so.Chunks))
		}
	}
}
